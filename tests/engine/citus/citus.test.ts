import { execFileSync } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { citusUrl, newDb, type TestDb } from '../../helpers/db.ts'

// A Citus coordinator with workers (scripts/citus-cluster.sh; CI sets TEST_CITUS_URL).
if (!citusUrl)
  console.warn(
    '[tests] TEST_CITUS_URL is not set: the Citus tests are skipped (scripts/citus-cluster.sh starts a cluster).',
  )
const onCitus = citusUrl ? describe : describe.skip

const ASOF = new Date('2024-03-15T12:00:00Z')
const tz = 'Europe/Paris'
const users = Array.from({ length: 40 }, (_, i) => ({
  user_id: `u${i}`,
  properties: { city: ['Paris', 'Rome', 'Berlin'][i % 3] as string, age: 20 + (i % 50) },
}))
const purchases = users.flatMap((u, i) =>
  Array.from({ length: 1 + (i % 4) }, (_, k) => ({
    user_id: u.user_id,
    event: 'purchase',
    time: new Date(Date.UTC(2024, 2, 1 + ((i + k) % 14), 10 + k)).toISOString(),
    event_id: `p${i}_${k}`,
    properties: { amount: 5 + ((i * 7 + k) % 40), product: ['apple', 'pear', 'kiwi'][(i + k) % 3] as string },
  })),
)
const views = users.flatMap((u, i) =>
  Array.from({ length: i % 3 }, (_, k) => ({
    user_id: u.user_id,
    event: 'view',
    time: new Date(Date.UTC(2024, 2, 2 + k, 9)).toISOString(),
    properties: { page: ['home', 'cart', 'search'][(i + k) % 3] as string },
  })),
)

/** Every compiled shape: each method, each measure, conditions over attributes and events. */
const shapes: Array<[string, Definition]> = [
  ...(['count', 'days'] as const).map((agg): [string, Definition] => [
    `metric ${agg}`,
    { dataType: 'number', rule: { method: 'metric', event: 'purchase', measure: { agg } } },
  ]),
  ...(['sum', 'avg', 'min', 'max', 'distinct'] as const).map((agg): [string, Definition] => [
    `metric ${agg} over a lastDays window with a filter`,
    {
      dataType: 'number',
      rule: {
        method: 'metric',
        event: 'purchase',
        where: [{ property: 'product', op: 'in', value: ['apple', 'pear'] }],
        window: { lastDays: 10 },
        measure: { agg, property: agg === 'distinct' ? 'product' : 'amount' },
      },
    },
  ]),
  [
    'custom: attribute and behaviour conditions, not()',
    {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'vip',
            when: {
              all: [
                { attribute: 'city', op: 'neq', value: 'Paris' },
                { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 2 },
              ],
            },
          },
          {
            value: 'low',
            when: {
              not: {
                event: 'purchase',
                measure: { agg: 'avg', property: 'amount' },
                op: 'gt',
                value: 20,
              },
            },
          },
        ],
        otherwise: 'other',
      },
    },
  ],
  [
    'first_last (DISTINCT ON uid)',
    {
      dataType: 'string',
      rule: {
        method: 'first_last',
        which: 'last',
        event: 'purchase',
        property: 'product',
        window: { from: '2024-03-01', to: '2024-04-01' },
      },
    },
  ],
  [
    'preference top 1 (window function)',
    { dataType: 'string', rule: { method: 'preference', event: 'view', property: 'page', top: 1 } },
  ],
  [
    'preference top 2 by days',
    {
      dataType: 'collection',
      rule: { method: 'preference', event: 'view', property: 'page', top: 2, by: { agg: 'days' } },
    },
  ],
  [
    'distribution of a measure',
    {
      dataType: 'string',
      rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1, 3] },
    },
  ],
]

/** A connection straight to one node of the cluster (a worker), same credentials as the coordinator. */
function nodeClient(port: number): pg.Client {
  const u = new URL(citusUrl as string)
  u.port = String(port)
  return new pg.Client({ connectionString: u.toString() })
}

onCitus('the engine on Citus', () => {
  let db: TestDb
  let schema = ''
  let shardCount = 0
  beforeAll(async () => {
    db = await newDb('citus')
    const svc = new EngineService(db)
    await svc.migrate()
    schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s as string
    expect((await ingestUserRecords(db, users)).committed).toBe(true)
    expect((await ingestEventRecords(db, purchases)).committed).toBe(true)
    expect((await ingestEventRecords(db, views)).committed).toBe(true)
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_dist_shard WHERE logicalrelid = 'users'::regclass`,
    )
    shardCount = r.rows[0]?.n as number
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('distributes users, event tables and result tables by uid, co-located; the catalogue stays local', async () => {
    const svc = new EngineService(db)
    const run = await svc.createRun({
      labelId: 'dist',
      trigger: 'manual',
      asOf: ASOF.toISOString(),
      definition: shapes[0]?.[1] as Definition,
    })
    expect((await svc.executeRun(run.id, { tz })).status).toBe('succeeded')
    const r = await db.query<{ t: string; col: string; colocation: number; method: string }>(
      `SELECT c.relname AS t, column_to_column_name(p.logicalrelid, p.partkey) AS col, p.colocationid AS colocation,
              p.partmethod AS method
       FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
       WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1`,
    )
    const byName = new Map(r.rows.map((x) => [x.t, x]))
    const res = r.rows.filter((x) => /^res_\d+$/.test(x.t))
    expect(res).toHaveLength(1)
    const colocation = byName.get('users')?.colocation
    for (const t of ['users', 'ev1', 'ev2', res[0]?.t as string])
      expect(byName.get(t), t).toMatchObject({ col: 'uid', method: 'h', colocation })
    expect(byName.get('ev1_ids')).toMatchObject({ col: 'event_id', method: 'h' })
    // The event_id tables name event_ids_in's group, not the database-wide default one (storage/citus.ts).
    expect(byName.get('ev1_ids')?.colocation).toBe(byName.get('event_ids_in')?.colocation)
    // Every ev<N>_ids has its key on event_id (a new event's is built after its first load,
    // ingest/commit.ts): the stored-id checks of later ingestions look ids up by it.
    const ids = await db.query<{ t: string; keyed: boolean }>(
      `SELECT c.relname AS t, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS keyed
       FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
         AND c.relname ~ '^ev[0-9]+_ids$' ORDER BY 1`,
    )
    expect(ids.rows.map((x) => x.t)).toEqual(expect.arrayContaining(['ev1_ids', 'ev2_ids']))
    expect(ids.rows.filter((x) => !x.keyed)).toEqual([])
    const groups = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_dist_colocation WHERE colocationid = ANY($1::int[])`,
      [[colocation, byName.get('event_ids_in')?.colocation]],
    )
    expect(groups.rows[0]?.n).toBe(2) // both groups exist, and they are two
    for (const local of ['catalogue_events', 'catalogue_columns', 'runs', 'label_state', 'history', 'meta'])
      expect(byName.has(local), local).toBe(false)
    expect(shardCount).toBeGreaterThan(1)
    const nodes = await db.query<{ n: number }>(
      `SELECT count(DISTINCT nodeport)::int AS n FROM citus_shards WHERE table_name = 'users'::regclass`,
    )
    expect(nodes.rows[0]?.n).toBeGreaterThan(1) // shards on more than one worker
  })

  it.each(shapes)(
    '%s: runs whole on the workers (EXPLAIN), with no raw events pulled to the coordinator',
    async (_name, def) => {
      const catalogue = await loadCatalogue(db)
      const { sql, params } = compileRule(def, { catalogue, asOf: ASOF, tz })
      const r = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT uid, value FROM (${sql}) AS src`, params)
      const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n')
      // One distributed scan at the top: the coordinator only concatenates the workers' rows.
      expect(plan.split('\n')[0], plan).toMatch(/^Custom Scan \(Citus Adaptive\)/)
      expect(plan).toContain(`Task Count: ${shardCount}`) // one task per shard, in parallel on the workers
      expect(plan).not.toMatch(/Distributed Subplan|MapMergeJob|intermediate_result|repartition/i)
      // The event tables are read on the workers, as their shards (ev1_<shardid>), never whole.
      expect(plan).toMatch(/Node: host=\S+ port=\d+/)
      expect(plan).toMatch(/\b(ev\d+|users)_\d+\b/)
      expect(plan).not.toMatch(/on (ev\d+|users)\b(?!_)/)
    },
  )

  it.each(shapes)(
    '%s: the run statement fills the result table on the workers (co-located INSERT … SELECT)',
    async (_name, def) => {
      const catalogue = await loadCatalogue(db)
      const { sql, params } = compileRule(def, { catalogue, asOf: ASOF, tz })
      await db.transaction(async (tx) => {
        const t = await tx.query<{ n: number }>(`SELECT nextval('result_table_seq')::int AS n`)
        const table = `res_${t.rows[0]?.n}`
        await tx.exec(`CREATE TABLE ${table} (uid int PRIMARY KEY, value text)`)
        await tx.query(`SELECT create_distributed_table($1::regclass, 'uid', colocate_with => 'users')`, [table])
        const r = await tx.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN INSERT INTO ${table} (uid, value) SELECT uid, value::text FROM (${sql}) AS src`,
          params,
        )
        const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n')
        expect(plan.split('\n')[0], plan).toMatch(/^Custom Scan \(Citus Adaptive\)/)
        expect(plan).toContain(`Task Count: ${shardCount}`)
        expect(plan).not.toMatch(/pull to coordinator|repartition|Distributed Subplan|MapMergeJob/i)
        await tx.exec(`DROP TABLE ${table}`)
      })
    },
  )

  it('ingestion is all-or-nothing across workers: a shard that fails on one worker stores nothing anywhere', async () => {
    const count = async () =>
      (
        await db.query<{ u: number; e: number; ids: number }>(
          `SELECT (SELECT count(*)::int FROM users) AS u, (SELECT count(*)::int FROM ev1) AS e, (SELECT count(*)::int FROM ev1_ids) AS ids`,
        )
      ).rows[0]
    const before = await count()
    // New users and purchases spread over every shard; one shard of ev1 refuses inserts.
    const fresh = Array.from({ length: 60 }, (_, i) => `n${i}`)
    const records = fresh.map((user_id, i) => ({
      user_id,
      event: 'purchase',
      time: '2024-03-10T10:00:00Z',
      event_id: `new${i}`,
      properties: { amount: i },
    }))
    const shards = await db.query<{ shard: string; port: number }>(
      `SELECT shard_name AS shard, nodeport AS port FROM citus_shards WHERE table_name = 'ev1'::regclass ORDER BY shardid DESC LIMIT 1`,
    )
    const { shard, port } = shards.rows[0] as { shard: string; port: number }
    const worker = nodeClient(port)
    await worker.connect()
    try {
      // The function is created through the coordinator (Citus propagates it); the trigger goes
      // on the one shard, on its worker.
      await db.exec(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN RAISE EXCEPTION 'worker refuses the row'; END$$`)
      await worker.query('SET citus.enable_manual_changes_to_shards = on')
      await worker.query(
        `CREATE TRIGGER refuse BEFORE INSERT ON ${schema}.${shard.replace(/^.*\./, '')} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`,
      )
      await expect(ingestEventRecords(db, records)).rejects.toThrow(/worker refuses the row/)
      expect(await count()).toEqual(before)
      const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE user_id = ANY($1::text[])`, [
        fresh,
      ])
      expect(r.rows[0]?.n).toBe(0)
    } finally {
      await worker.query(`DROP TRIGGER IF EXISTS refuse ON ${schema}.${shard.replace(/^.*\./, '')}`)
      await worker.end()
      await db.exec(`DROP FUNCTION IF EXISTS ${schema}.refuse()`)
    }
    // The same request stores everything once the worker accepts rows again.
    const ok = await ingestEventRecords(db, records)
    expect(ok).toMatchObject({ committed: true, inserted: records.length })
    expect((await count())?.e).toBe((before?.e as number) + records.length)
  })

  it('event_ids stay unique across users, as on PostgreSQL', async () => {
    const r = await ingestEventRecords(db, [
      { user_id: 'u1', event: 'purchase', time: '2024-03-10T10:00:00Z', event_id: 'p2_0', properties: {} },
      { user_id: 'u5', event: 'purchase', time: '2024-03-10T10:00:00Z', event_id: 'twice', properties: {} },
      { user_id: 'u6', event: 'purchase', time: '2024-03-10T10:00:00Z', event_id: 'twice', properties: {} },
    ])
    expect(r).toMatchObject({ committed: true, inserted: 1, duplicates: 2 })
    const kept = await db.query<{ user_id: string }>(
      `SELECT u.user_id FROM ev1 e JOIN users u ON u.uid = e.uid WHERE e.event_id = 'twice'`,
    )
    expect(kept.rows).toEqual([{ user_id: 'u5' }])
  })
})

/** The Debian cluster (version, name) serving a port on this machine, or null (not local, no pg_lsclusters). */
function localCluster(port: number): [string, string] | null {
  try {
    const out = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
    for (const line of out.split('\n')) {
      const [ver, name, p] = line.trim().split(/\s+/)
      if (ver && name && Number(p) === port) return [ver, name]
    }
  } catch {}
  return null
}

onCitus('a worker lost mid-run on Citus', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb('citus')
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('fails the run and keeps the previous results, never a wrong result', async () => {
    const svc = new EngineService(db)
    await svc.migrate()
    await ingestUserRecords(db, users)
    await ingestEventRecords(db, purchases)
    const def: Definition = {
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    }
    const first = await svc.createRun({ labelId: 'L', trigger: 'manual', asOf: ASOF.toISOString(), definition: def })
    expect((await svc.executeRun(first.id, { tz })).status).toBe('succeeded')
    const before = await svc.distribution('L', 'number', {})
    const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s as string
    // A worker holding a shard of the events: lock that shard there, so the run stops on it.
    const s = await db.query<{ shard: string; port: number }>(
      `SELECT shard_name AS shard, nodeport AS port FROM citus_shards WHERE table_name = 'ev1'::regclass ORDER BY shardid LIMIT 1`,
    )
    const { shard, port } = s.rows[0] as { shard: string; port: number }
    const cluster = localCluster(port)
    if (!cluster) {
      console.warn(`[tests] the Citus worker on port ${port} is not a local cluster: the worker-loss test is skipped`)
      return
    }
    const locker = nodeClient(port)
    await locker.connect()
    locker.on('error', () => {}) // the worker goes away under it
    let stopped = false
    try {
      await locker.query('SET citus.enable_manual_changes_to_shards = on')
      await locker.query('BEGIN')
      await locker.query(`LOCK TABLE ${schema}.${shard.replace(/^.*\./, '')} IN ACCESS EXCLUSIVE MODE`)
      const second = await svc.createRun({
        labelId: 'L',
        trigger: 'manual',
        asOf: ASOF.toISOString(),
        definition: def,
      })
      const running = svc.executeRun(second.id, { tz })
      // Wait until the run's query waits for the lock on the worker, then stop that worker.
      for (let i = 0; i < 200; i++) {
        const w = await locker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass`,
          [`${schema}.${shard.replace(/^.*\./, '')}`],
        )
        if ((w.rows[0]?.n as number) > 0) break
        await new Promise((r) => setTimeout(r, 100))
      }
      execFileSync('pg_ctlcluster', [cluster[0], cluster[1], 'stop', '-m', 'immediate'])
      stopped = true
      const done = await running
      expect(done.status).toBe('failed')
      expect(done.error).toBeTruthy()
    } finally {
      await locker.end().catch(() => {})
      if (stopped) execFileSync('pg_ctlcluster', [cluster[0], cluster[1], 'start'])
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q'])
          break
        } catch {
          await new Promise((r) => setTimeout(r, 200))
        }
      }
    }
    // Back up: the label still has the first run's results, readable from the workers.
    expect(await svc.distribution('L', 'number', {})).toEqual(before)
    const state = await db.query<{ run_id: string }>(`SELECT run_id FROM label_state WHERE label_id = 'L'`)
    expect(state.rows[0]?.run_id).toBe(first.id)
  })
})

/** The same database seen as plain PostgreSQL: the engine keeps every table local, as before Citus was installed. */
function withoutCitus(db: SqlExecutor): SqlExecutor {
  return new Proxy(db, {
    get(target, key) {
      if (key === 'citus') return false
      if (key === 'transaction')
        return <T>(fn: (tx: SqlExecutor) => Promise<T>) => target.transaction((tx) => fn(withoutCitus(tx)))
      const v = Reflect.get(target, key)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

onCitus('a database used before Citus', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb('citus')
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('is distributed at the next start: its rows move to the workers and leave the coordinator, results unchanged', async () => {
    const local = withoutCitus(db)
    const before = new EngineService(local)
    await before.migrate()
    expect((await ingestUserRecords(local, users)).committed).toBe(true)
    expect((await ingestEventRecords(local, purchases)).committed).toBe(true)
    const def: Definition = {
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    }
    const run = await before.createRun({ labelId: 'L', trigger: 'manual', asOf: ASOF.toISOString(), definition: def })
    expect((await before.executeRun(run.id, { tz })).status).toBe('succeeded')
    const was = await before.distribution('L', 'number', {})
    const distributed = async () =>
      (
        await db.query<{ t: string }>(
          `SELECT c.relname AS t FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
           WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1`,
        )
      ).rows.map((r) => r.t)
    expect(await distributed()).toEqual([])

    const after = new EngineService(db)
    await after.migrate()
    const res = (await db.query<{ t: string }>('SELECT result_table AS t FROM label_state')).rows[0]?.t as string
    expect(await distributed()).toEqual(expect.arrayContaining(['users', 'ev1', 'ev1_ids', res]))
    // Every row is on the workers and none is left in the coordinator's own tables.
    for (const t of ['users', 'ev1', res]) {
      const left = await db.query<{ bytes: string }>(`SELECT pg_relation_size($1::regclass)::text AS bytes`, [t])
      expect(left.rows[0]?.bytes, `${t} on the coordinator`).toBe('0')
    }
    const n = await db.query<{ u: number; e: number }>(
      'SELECT (SELECT count(*)::int FROM users) AS u, (SELECT count(*)::int FROM ev1) AS e',
    )
    expect(n.rows[0]).toEqual({ u: users.length, e: purchases.length })
    expect(await after.distribution('L', 'number', {})).toEqual(was)
    const again = await after.createRun({ labelId: 'L', trigger: 'manual', asOf: ASOF.toISOString(), definition: def })
    expect((await after.executeRun(again.id, { tz })).status).toBe('succeeded')
    const now = await after.distribution('L', 'number', {})
    expect({ ...now, asOf: null, runId: null }).toEqual({ ...was, asOf: null, runId: null })
  })
})
