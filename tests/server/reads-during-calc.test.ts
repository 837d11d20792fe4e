/**
 * Issue 12: reads of results, runs and history, and previews, must not wait behind a
 * calculation. The engine's connection is held deterministically: the run's transaction is
 * gated (it holds PGlite's only connection, or a PostgreSQL pool client, until released), as a
 * long calculation would. Assertions are on ordering (answered while the run is still
 * running), never on durations; a read that waits behind the calculation is reported as
 * "blocked" after a safety bound, then the calculation is let go.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, expect, it } from 'vitest'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
import { EngineService } from '../../engine/service.ts'
import { buildApp } from '../../server/app.ts'
import { createSqlDocStore } from '../../server/collab/index.ts'
import { describeEachDb, newDb, type DbKind, type TestDb } from '../helpers/db.ts'
import { auth, ndjson, tokenEntries, until } from './helpers.ts'

/** A SqlExecutor whose next `n` transactions wait (holding their connection) until released. */
function holdable(db: SqlExecutor) {
  let armed = 0
  let gate: Promise<void> = Promise.resolve()
  let release: () => void = () => {}
  let held = 0
  const exec: SqlExecutor = {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    ...(db.copyFrom ? { copyFrom: (sql: string, data: Uint8Array) => db.copyFrom!(sql, data) } : {}),
    transaction: (fn) =>
      db.transaction(async (tx) => {
        if (armed > 0) {
          armed--
          held++
          await gate
        }
        return fn(tx)
      }),
    close: () => db.close(),
  }
  return {
    exec,
    /** Gates the next n transactions. */
    arm(n = 1) {
      armed = n
      held = 0
      gate = new Promise((r) => (release = r))
    },
    held: () => held,
    release: () => release(),
  }
}

const BLOCKED = Symbol('blocked')
/** The reply, or BLOCKED when it did not come while the calculation was held (safety bound, not a timing assertion). */
async function whileHeld<T>(p: Promise<T>): Promise<T | typeof BLOCKED> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const blocked = new Promise<typeof BLOCKED>((r) => (timer = setTimeout(() => r(BLOCKED), 20_000)))
  try {
    return await Promise.race([p, blocked])
  } finally {
    clearTimeout(timer)
  }
}

interface Setup {
  app: FastifyInstance
  hold: ReturnType<typeof holdable>
  close(): Promise<void>
}

async function setup(
  kind: DbKind,
  opts: { concurrency?: number; previewTimeoutMs?: number; readDb?: boolean } = {},
): Promise<Setup> {
  const db: TestDb = await newDb(kind)
  const hold = holdable(db)
  // PostgreSQL: reads and previews on a pool of their own (as the engine worker opens it) unless told otherwise.
  const readDb = kind === 'postgres' && opts.readDb !== false ? await newReadPool(db) : undefined
  const engine = new EngineService(hold.exec, readDb ? { readDb } : {})
  await engine.migrate()
  const docDb = await newDb(kind)
  const docStore = await createSqlDocStore(docDb)
  const dataDir = await mkdtemp(join(tmpdir(), 'labels-reads-'))
  const app = await buildApp({
    engine,
    db: kind === 'citus' ? 'postgres' : kind,
    dataDir,
    tokens: tokenEntries,
    docStore,
    strictResponses: true,
    calc: { concurrency: opts.concurrency ?? 1, readWaitMs: 300 },
    ...(opts.previewTimeoutMs !== undefined ? { limits: { previewTimeoutMs: opts.previewTimeoutMs } } : {}),
  })
  await app.ready()
  return {
    app,
    hold,
    async close() {
      hold.release()
      await app.close()
      await docDb.dispose()
      // The engine closes readDb; db is disposed with its schema.
      if (readDb) await readDb.close()
      await db.dispose()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A second pool on the test database's schema (the read pool of engine-worker.ts). */
async function newReadPool(db: TestDb): Promise<SqlExecutor> {
  const { openPostgres } = await import('../../engine/adapters/pg.ts')
  const r = await db.query<{ s: string }>(`SELECT current_schema() AS s`)
  return openPostgres(process.env.TEST_DATABASE_URL!, { schema: r.rows[0]!.s, max: 2, statementTimeoutMs: 60_000 })
}

const cities = ['Paris', 'Berlin', 'Rome', 'Oslo']
async function ingest(app: FastifyInstance): Promise<void> {
  const users = Array.from({ length: 40 }, (_, i) => ({ user_id: `u${i}`, properties: { city: cities[i % 4] } }))
  const r = await app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson(users),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(r.statusCode).toBe(200)
}

const cityRule = {
  method: 'custom',
  values: [{ value: 'capital', when: { attribute: 'city', op: 'in', value: ['Paris', 'Berlin'] } }],
  otherwise: 'other',
}
const label = (name: string) => ({ name, displayName: name, dataType: 'string', labelType: 'static', rule: cityRule })

async function createLabel(app: FastifyInstance, name: string): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/api/labels', payload: label(name), headers: auth('editor') })
  expect(r.statusCode).toBe(201)
  await app.runQueue.idle()
  return (r.json() as { id: string }).id
}

let current: Setup | null = null
afterEach(async () => {
  await current?.close()
  current = null
})

describeEachDb('reads while a calculation holds the engine', (kind) => {
  it('answers distribution, history, run status and preview while the run is still running', async () => {
    const s = (current = await setup(kind))
    const { app } = s
    await ingest(app)
    const id = await createLabel(app, 'home')
    const before = (await app.inject({ url: `/api/labels/${id}/distribution`, headers: auth('viewer') })).json() as {
      runId: string
    }
    expect(before.runId).toBeTruthy()

    s.hold.arm()
    const calc = await app.inject({
      method: 'POST',
      url: `/api/labels/${id}/calculate`,
      payload: {},
      headers: auth('editor'),
    })
    expect(calc.statusCode).toBe(202)
    const runId = (calc.json() as { runId: string }).runId
    await until(async () => s.hold.held() === 1)

    const dist = await whileHeld(
      app.inject({ url: `/api/labels/${id}/distribution?top=1&sort=value&order=asc`, headers: auth('viewer') }),
    )
    const hist = await whileHeld(app.inject({ url: `/api/labels/${id}/history`, headers: auth('viewer') }))
    const run = await whileHeld(app.inject({ url: `/api/runs/${runId}`, headers: auth('viewer') }))
    const preview = await whileHeld(
      app.inject({
        method: 'POST',
        url: '/api/preview',
        payload: { dataType: 'string', rule: cityRule },
        headers: auth('editor'),
      }),
    )
    // Still held: every answer above came while the run was running.
    expect(s.hold.held()).toBe(1)
    const status = (await app.inject({ url: `/api/runs/${runId}`, headers: auth('viewer') })).json() as {
      status: string
    }
    s.hold.release()

    expect(dist).not.toBe(BLOCKED)
    expect(hist).not.toBe(BLOCKED)
    expect(run).not.toBe(BLOCKED)
    expect(preview).not.toBe(BLOCKED)
    if (dist === BLOCKED || hist === BLOCKED || run === BLOCKED || preview === BLOCKED) return
    expect(dist.statusCode).toBe(200)
    expect(dist.json()).toMatchObject({ runId: before.runId, items: [{ value: 'capital', users: 20 }] })
    expect(hist.statusCode).toBe(200)
    expect((hist.json() as { items: unknown[] }).items).toHaveLength(2)
    expect(run.statusCode).toBe(200)
    expect(run.json()).toMatchObject({ id: runId, status: 'running' })
    expect(status.status).toBe('running')
    if (kind === 'postgres') {
      // Its own connection: the full preview.
      expect(preview.statusCode).toBe(200)
      expect((preview.json() as { coveredUsers: number }).coveredUsers).toBe(40)
    } else {
      // PGlite's one connection is the calculation's: after a bounded wait (readWaitMs), a clear refusal with Retry-After.
      expect(preview.statusCode).toBe(503)
      expect(preview.headers['retry-after']).toBeTruthy()
      expect((preview.json() as { error: { code: string } }).error.code).toBe('unavailable')
    }

    await app.runQueue.idle()
    const after = (await app.inject({ url: `/api/runs/${runId}`, headers: auth('viewer') })).json() as {
      status: string
    }
    expect(after.status).toBe('succeeded')
    const d2 = (await app.inject({ url: `/api/labels/${id}/distribution`, headers: auth('viewer') })).json() as {
      runId: string
    }
    expect(d2.runId).toBe(runId)
  })

  it("answers a label's runs list while the run is still running, never listed before (known since its creation)", async () => {
    const s = (current = await setup(kind))
    const { app } = s
    await ingest(app)
    const id = await createLabel(app, 'listed')
    // Its first run, from memory (no runs list read yet: the label's list is known since it was created).
    const firstRun = (await app.calc.lastRuns([id]))[id]
    expect(firstRun?.status).toBe('succeeded')
    const first = { runs: [firstRun!] }
    s.hold.arm()
    const calc = await app.inject({
      method: 'POST',
      url: `/api/labels/${id}/calculate`,
      payload: {},
      headers: auth('editor'),
    })
    const runId = (calc.json() as { runId: string }).runId
    await until(async () => s.hold.held() === 1)
    const list = await whileHeld(app.inject({ url: `/api/labels/${id}/runs?limit=5`, headers: auth('viewer') }))
    expect(s.hold.held()).toBe(1)
    s.hold.release()
    expect(list).not.toBe(BLOCKED)
    if (list === BLOCKED) return
    expect(list.statusCode).toBe(200)
    expect((list.json() as { runs: { id: string; status: string }[] }).runs.map((r) => [r.id, r.status])).toEqual([
      [runId, 'running'],
      [first.runs[0]!.id, 'succeeded'],
    ])
    await app.runQueue.idle()
    const after = (await app.inject({ url: `/api/labels/${id}/runs`, headers: auth('viewer') })).json() as {
      runs: { id: string; status: string }[]
    }
    expect(after.runs.map((r) => [r.id, r.status])).toEqual([
      [runId, 'succeeded'],
      [first.runs[0]!.id, 'succeeded'],
    ])
  })

  it('waits briefly for a calculation that ends soon: a preview sent behind it answers 200 (a label created, then previewed at once)', async () => {
    const s = (current = await setup(kind))
    const { app } = s
    await ingest(app)
    const id = await createLabel(app, 'soon')
    s.hold.arm()
    await app.inject({ method: 'POST', url: `/api/labels/${id}/calculate`, payload: {}, headers: auth('editor') })
    await until(async () => s.hold.held() === 1)
    const preview = app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'string', rule: cityRule },
      headers: auth('editor'),
    })
    // The calculation ends while the preview waits (well inside readWaitMs).
    setTimeout(() => s.hold.release(), 100)
    const r = await whileHeld(preview)
    expect(r).not.toBe(BLOCKED)
    if (r === BLOCKED) return
    expect(r.statusCode).toBe(200)
    expect((r.json() as { coveredUsers: number }).coveredUsers).toBe(40)
    await app.runQueue.idle()
  })

  it('answers reads that need the database with 503 + Retry-After instead of hanging (PGlite), or at once (PostgreSQL)', async () => {
    const s = (current = await setup(kind))
    const { app } = s
    await ingest(app)
    const id = await createLabel(app, 'home2')
    s.hold.arm()
    await app.inject({ method: 'POST', url: `/api/labels/${id}/calculate`, payload: {}, headers: auth('editor') })
    await until(async () => s.hold.held() === 1)
    const audience = await whileHeld(app.inject({ url: `/api/labels/${id}/users?limit=10`, headers: auth('viewer') }))
    const user = await whileHeld(app.inject({ url: `/api/users/u1/labels`, headers: auth('viewer') }))
    // A run not in memory (not seen since the start) is read from the engine.
    const unknownRun = await whileHeld(app.inject({ url: `/api/runs/r_not_seen_since_start`, headers: auth('viewer') }))
    expect(s.hold.held()).toBe(1)
    s.hold.release()
    expect(audience).not.toBe(BLOCKED)
    expect(user).not.toBe(BLOCKED)
    expect(unknownRun).not.toBe(BLOCKED)
    if (audience === BLOCKED || user === BLOCKED || unknownRun === BLOCKED) return
    expect(unknownRun.statusCode).toBe(kind === 'postgres' ? 404 : 503)
    for (const r of [audience, user]) {
      if (kind === 'postgres') expect(r.statusCode).toBe(200)
      else {
        expect(r.statusCode).toBe(503)
        expect(r.headers['retry-after']).toBeTruthy()
      }
    }
    await app.runQueue.idle()
  })

  if (kind === 'postgres') {
    it('answers a preview over its budget with 504 timeout, even when calculations hold every engine connection', async () => {
      // No pool of its own for reads (an embedder's in-process engine); the test pool has 4 clients, 4 runs hold them.
      const s = (current = await setup(kind, { concurrency: 4, previewTimeoutMs: 1500, readDb: false }))
      const { app } = s
      await ingest(app)
      const ids = [
        await createLabel(app, 'p1'),
        await createLabel(app, 'p2'),
        await createLabel(app, 'p3'),
        await createLabel(app, 'p4'),
      ]
      s.hold.arm(4)
      for (const id of ids)
        await app.inject({ method: 'POST', url: `/api/labels/${id}/calculate`, payload: {}, headers: auth('editor') })
      await until(async () => s.hold.held() === 4)
      const preview = await whileHeld(
        app.inject({
          method: 'POST',
          url: '/api/preview',
          payload: { dataType: 'string', rule: cityRule },
          headers: auth('editor'),
        }),
      )
      expect(s.hold.held()).toBe(4)
      s.hold.release()
      expect(preview).not.toBe(BLOCKED)
      if (preview === BLOCKED) return
      expect(preview.statusCode).toBe(504)
      expect((preview.json() as { error: { code: string } }).error.code).toBe('timeout')
      await app.runQueue.idle()
    })

    it('stops a preview statement at the budget on PostgreSQL (statement_timeout over the whole preview)', async () => {
      const s = (current = await setup(kind, { previewTimeoutMs: 1000 }))
      const { app } = s
      await ingest(app)
      // The preview's statement waits on a lock, as behind an ingestion's ALTER TABLE users; here a test connection holds it.
      const { openPostgres } = await import('../../engine/adapters/pg.ts')
      const schema = (await s.hold.exec.query<{ s: string }>(`SELECT current_schema() AS s`)).rows[0]!.s
      const conn = await openPostgres(process.env.TEST_DATABASE_URL!, { schema, max: 1 })
      try {
        const r = await conn.transaction(async (tx) => {
          await tx.exec(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`)
          return whileHeld(
            app.inject({
              method: 'POST',
              url: '/api/preview',
              payload: { dataType: 'string', rule: cityRule },
              headers: auth('editor'),
            }),
          )
        })
        expect(r).not.toBe(BLOCKED)
        if (r === BLOCKED) return
        expect(r.statusCode).toBe(504)
        expect((r.json() as { error: { code: string } }).error.code).toBe('timeout')
      } finally {
        await conn.close()
      }
    })
  }

  it('answers calculate requests sent one after another while a run is running at once, coalesced into one more run', async () => {
    // SPEC §6: "further triggers while it runs coalesce into one more". On PGlite a new run's
    // row waited behind the calculation, so each request was answered only when the run before
    // ended, by which time the next request found the new run running and made another: four
    // requests, four runs (second black-box audit, 2026-12-06). Now the run is acknowledged at
    // once (server/runs/run-journal.ts) and stored when the connection is free.
    const s = (current = await setup(kind))
    const { app } = s
    await ingest(app)
    const id = await createLabel(app, 'busy')
    s.hold.arm()
    const calc = () =>
      whileHeld(
        app.inject({ method: 'POST', url: `/api/labels/${id}/calculate`, payload: {}, headers: auth('editor') }),
      )
    const first = await calc()
    expect(first).not.toBe(BLOCKED)
    if (first === BLOCKED) return
    expect(first.statusCode, first.body).toBe(202)
    await until(async () => s.hold.held() === 1)
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await calc())
    // Every answer came while the first run was still running.
    expect(s.hold.held()).toBe(1)
    expect(answers).not.toContain(BLOCKED)
    const ids = answers.map((a) => (a === BLOCKED ? null : (a.json() as { runId: string }).runId))
    expect(new Set(ids).size).toBe(1)
    expect(ids[0]).not.toBe(first.json().runId)
    // Known (queued) before it is stored.
    const queued = (await app.inject({ url: `/api/runs/${ids[0]}`, headers: auth('viewer') })).json()
    expect(queued).toMatchObject({ id: ids[0], status: 'queued', labelId: id })
    s.hold.release()
    await app.runQueue.idle()
    const runs = (await app.inject({ url: `/api/labels/${id}/runs`, headers: auth('viewer') })).json().runs as Array<{
      id: string
      status: string
      trigger: string
    }>
    expect(runs.filter((r) => r.trigger === 'manual').map((r) => [r.id, r.status])).toEqual([
      [ids[0], 'succeeded'],
      [first.json().runId, 'succeeded'],
    ])
    const stored = await app.engine.getRun(ids[0]!)
    expect(stored).toMatchObject({ status: 'succeeded' })
  })
})
