import { openPostgres } from '../../../engine/adapters/pg.ts'

/** TEST_DATABASE_URL, or undefined (the cluster tests skip without PostgreSQL). */
export const pgUrl = process.env.TEST_DATABASE_URL

/**
 * A throwaway schema on the test PostgreSQL and a connection URL whose every connection uses it
 * (`options=-c search_path=…`), so separate processes started with it share exactly that schema.
 */
export async function newSchemaUrl(): Promise<{ url: string; schema: string; dispose(): Promise<void> }> {
  if (!pgUrl) throw new Error('TEST_DATABASE_URL is not set')
  const schema = `cl_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`
  const admin = await openPostgres(pgUrl, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  const u = new URL(pgUrl)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: u.toString(),
    schema,
    dispose: async () => {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {})
      await admin.close()
    },
  }
}
