import { afterAll, describe, expect, it } from 'vitest'
import { ENGINE_PG_SETTINGS, openPostgres, parsePgSettings } from '../../../engine/adapters/pg.ts'
import { startEngineWorker } from '../../../server/engine-host.ts'

describe('parsePgSettings', () => {
  it('reads name=value pairs; "server" and nothing keep the server\'s settings', () => {
    expect(parsePgSettings(ENGINE_PG_SETTINGS)).toEqual({ jit: 'off' })
    expect(parsePgSettings('jit=off,work_mem=256MB, citus.max_adaptive_executor_pool_size = 2')).toEqual({
      jit: 'off',
      work_mem: '256MB',
      'citus.max_adaptive_executor_pool_size': '2',
    })
    expect(parsePgSettings('server')).toEqual({})
    expect(parsePgSettings(' ')).toEqual({})
  })

  it('refuses what is not name=value, naming the input', () => {
    expect(() => parsePgSettings('jit', 'X')).toThrow(/^X: "jit" is not name=value/)
    expect(() => parsePgSettings('work_mem=64 MB')).toThrow(/"work_mem=64 MB" is not name=value/)
    expect(() => parsePgSettings("search_path='a' -c jit=on")).toThrow(/is not name=value/)
    expect(() => parsePgSettings('jit=off,,')).toThrow(/"" is not name=value/)
  })
})

const url = process.env.TEST_DATABASE_URL
if (!url) console.warn('[tests] TEST_DATABASE_URL is not set: the PostgreSQL connection settings are not checked')

describe.skipIf(!url)("the engine's PostgreSQL connections [postgres]", () => {
  const closing: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const c of closing.reverse()) await c()
  })

  it('every connection of the pool has the settings given', async () => {
    const db = await openPostgres(url as string, { max: 3, settings: { jit: 'off', work_mem: '96MB' } })
    closing.push(() => db.close())
    // Three statements at once: three connections of the pool, each with the settings.
    const rows = await Promise.all(
      [0, 1, 2].map(() =>
        db.query<{ jit: string; wm: string; pid: number }>(
          `SELECT current_setting('jit') AS jit, current_setting('work_mem') AS wm, pg_backend_pid() AS pid, pg_sleep(0.2)`,
        ),
      ),
    )
    expect(new Set(rows.map((r) => r.rows[0]?.pid)).size).toBe(3)
    for (const r of rows) expect(r.rows[0]).toMatchObject({ jit: 'off', wm: '96MB' })
    const plain = await openPostgres(url as string, { max: 1 })
    closing.push(() => plain.close())
    const server = await plain.query<{ wm: string }>(`SELECT current_setting('work_mem') AS wm`)
    expect(server.rows[0]?.wm).not.toBe('96MB')
  })

  it('a setting that could smuggle options in is refused before connecting', async () => {
    await expect(openPostgres(url as string, { settings: { jit: 'off -c work_mem=1GB' } })).rejects.toThrow(
      /not a connection setting/,
    )
    await expect(openPostgres(url as string, { settings: { 'x y': 'on' } })).rejects.toThrow(/not a connection setting/)
  })

  it("the server's engine worker opens its connections with LABELS_PG_SETTINGS", async () => {
    const admin = await openPostgres(url as string, { max: 1 })
    closing.push(() => admin.close())
    const schema = `t_pgset_${process.pid}_${Date.now().toString(36)}`
    await admin.exec(`CREATE SCHEMA ${schema}`)
    closing.push(() => admin.exec(`DROP SCHEMA ${schema} CASCADE`))
    const name = `labels-${schema}`
    const engine = await startEngineWorker({
      databaseUrl: url as string,
      schema,
      pgSettings: { application_name: name, jit: 'off' },
    })
    closing.push(() => engine.terminate())
    expect(engine.kind).toBe('postgres')
    await engine.schema() // a statement on the engine's connections
    const seen = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`,
      [name],
    )
    expect(seen.rows[0]?.n).toBeGreaterThanOrEqual(1)
  })
})
