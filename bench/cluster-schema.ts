import { openPostgres } from '../engine/adapters/pg.ts'

/** A throwaway schema on `base` and a URL whose connections use it (processes share it). */
export async function newSchemaUrl(base: string): Promise<{ url: string; dispose(): Promise<void> }> {
  const schema = `bench_${process.pid}_${Date.now().toString(36)}`
  const admin = await openPostgres(base, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  const u = new URL(base)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: u.toString(),
    dispose: async () => {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {})
      await admin.close()
    },
  }
}
