import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../engine/adapters/pg.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { createGroup, origin, projectWorkspace } from '../../../shared/doc/index.ts'
import { newClient, synced, until, type TestClient } from '../collab/helpers.ts'
import { tokens } from '../helpers.ts'
import { api, buyCount, buyEvents, poll } from '../../faults/harness.ts'
import { startNode, type NodeProcess } from './processes.ts'
import { newSchemaUrl, pgUrl } from './schema.ts'

/**
 * Issue 11: three `npm start` processes (server/main.ts, real child processes) on one PostgreSQL
 * schema behave as one server. Clients and requests are spread over them.
 */
describe.skipIf(!pgUrl)('three processes on one PostgreSQL', () => {
  let schema: Awaited<ReturnType<typeof newSchemaUrl>>
  let db: SqlExecutor
  const nodes: NodeProcess[] = []
  const clients: TestClient[] = []
  const sockets: WebSocket[] = []

  beforeAll(async () => {
    schema = await newSchemaUrl()
    // Started at once: the first start's DDL races are part of what is tested.
    nodes.push(...(await Promise.all(['p1', 'p2', 'p3'].map((n) => startNode(n, schema.url)))))
    db = await openPostgres(schema.url, { max: 2 })
    const ing = await api(nodes[0]!.http, 'admin', '/api/data/events', {
      body: buyEvents('u', 2000),
      type: 'application/x-ndjson',
    })
    expect(ing.status, ing.body).toBe(200)
  }, 300_000) // a safety bound: one start takes ~40 s at a load of 30 on this 2-core machine

  afterAll(async () => {
    for (const c of clients) c.destroy()
    for (const s of sockets) s.close()
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    await db?.close()
    await schema?.dispose()
  }, 60_000)

  const client = (n: NodeProcess) => {
    const c = newClient(n.collab, tokens.editor)
    clients.push(c)
    return c
  }
  const groupNames = (c: TestClient) =>
    projectWorkspace(c.doc)
      .groups.flatMap((g) => [g.name, ...g.children.map((x) => x.name)])
      .sort()
  const restGroupNames = async (n: NodeProcess) => {
    const r = await api(n.http, 'viewer', '/api/groups')
    const gs = r.json().groups as Array<{ name: string; children: Array<{ name: string }> }>
    return gs.flatMap((g) => [g.name, ...g.children.map((x) => x.name)]).sort()
  }

  it('a group created through one process reaches clients of every process; concurrent edits converge', async () => {
    const [p1, p2, p3] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    const cs = [client(p1), client(p2), client(p3)]
    await Promise.all(cs.map((c) => synced(c)))
    const made = await api(p1.http, 'editor', '/api/groups', { json: { name: 'From REST on p1' } })
    expect(made.status, made.body).toBe(201)
    await until(() => cs.every((c) => groupNames(c).includes('From REST on p1')), 15_000)
    // Every client edits at once, each through its own process.
    cs.forEach((c, i) => {
      for (let k = 0; k < 5; k++) createGroup(c.doc, { name: `c${i + 1}-g${k}` }, origin('local', `c${i + 1}`))
    })
    const want = (names: string[]) => names.filter((n) => /^c\d-g\d$/.test(n)).length === 15
    await until(() => cs.every((c) => want(groupNames(c))), 20_000)
    const expected = groupNames(cs[0]!)
    for (const c of cs) expect(groupNames(c)).toEqual(expected)
    for (const n of nodes)
      await poll(
        async () => JSON.stringify(await restGroupNames(n)) === JSON.stringify(expected),
        15_000,
        `REST groups on ${n.name}`,
      )
    // Stored once: each client update is one row (or folded into the snapshot), not one per process.
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM collab_updates`)
    const snap = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM collab_snapshots`)
    const twice = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT digest FROM collab_updates GROUP BY digest HAVING count(*) > 1) d`,
    )
    expect(twice.rows[0]!.n, 'an update stored by more than one process').toBe(0)
    console.log(
      `[cluster] 16 groups from 4 origins on 3 processes: ${rows.rows[0]!.n} update rows, ${snap.rows[0]!.n} snapshot(s)`,
    )
  }, 60_000)

  it('presence (awareness) crosses processes', async () => {
    const [p1, p2, p3] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    const [a, b, c] = [client(p1), client(p2), client(p3)]
    await Promise.all([a, b, c].map((x) => synced(x)))
    // (The server writes each state's user from its token; the rest of a state is the client's.)
    a.provider.awareness.setLocalStateField('cursor', { at: 'alice on p1' })
    c.provider.awareness.setLocalStateField('cursor', { at: 'carol on p3' })
    const names = (x: TestClient) =>
      [...x.provider.awareness.getStates().values()]
        .map((s) => (s as { cursor?: { at: string } }).cursor?.at)
        .filter(Boolean)
    await until(
      () => names(b).includes('alice on p1') && names(b).includes('carol on p3') && names(c).includes('alice on p1'),
      15_000,
    )
    a.provider.disconnect()
    await until(() => !names(b).includes('alice on p1'), 15_000)
  }, 40_000)

  it('a run requested on one process is executed once and pushed live to subscribers of every process', async () => {
    const [, p2, p3] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    const made = await api(p2.http, 'editor', '/api/labels', {
      json: { name: 'buys', displayName: 'Buys', dataType: 'number', labelType: 'static', rule: buyCount },
    })
    expect(made.status, made.body).toBe(201)
    const labelId = made.json().id as string
    // The creation run (p2 integrated the creation: p2 runs it, nobody else).
    await poll(
      async () =>
        (await api(p3.http, 'viewer', `/api/labels/${labelId}/runs`))
          .json()
          .runs.find((r: { status: string }) => r.status === 'succeeded'),
      60_000,
      'the creation run',
    )
    const heard = nodes.map(() => [] as Array<{ type: string; run?: { id: string; status: string }; runId?: string }>)
    await Promise.all(
      nodes.map(
        (n, i) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(`${n.http.replace('http', 'ws')}/api/live?token=${tokens.viewer}`)
            sockets.push(ws)
            ws.on('error', reject)
            ws.on('message', (d) => {
              const m = JSON.parse(String(d))
              if (m.type === 'subscribed') resolve()
              else heard[i]!.push(m)
            })
            ws.on('open', () => ws.send(JSON.stringify({ subscribe: [`label:${labelId}`] })))
          }),
      ),
    )
    const calc = await api(p3.http, 'editor', `/api/labels/${labelId}/calculate`, { json: {} })
    expect(calc.status, calc.body).toBe(202)
    const runId = calc.json().runId as string
    for (const [i, h] of heard.entries())
      await poll(
        async () =>
          h.some((m) => m.type === 'run' && m.run?.id === runId && m.run.status === 'succeeded') &&
          h.some((m) => m.type === 'distribution' && m.runId === runId),
        30_000,
        `the run's success and distribution pushed on p${i + 1}`,
      )
    for (const h of heard) {
      const statuses = h.filter((m) => m.type === 'run' && m.run?.id === runId).map((m) => m.run!.status)
      expect(statuses).toEqual(['queued', 'running', 'succeeded'])
    }
    // Every process answers reads with that run's results (memory refreshed across processes).
    for (const n of nodes) {
      const d = await api(n.http, 'viewer', `/api/labels/${labelId}/distribution`)
      expect(d.json().runId, n.name).toBe(runId)
      expect((await api(n.http, 'viewer', `/api/runs/${runId}`)).json().status).toBe('succeeded')
    }
    const runs = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM runs WHERE label_id = $1`, [labelId])
    expect(runs.rows[0]!.n).toBe(2) // creation + this one: nobody ran a copy
    if (db.citus) {
      // CI runs this file on a Citus coordinator too: the results are then on the workers.
      const dist = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_dist_partition p JOIN label_state s ON p.logicalrelid = to_regclass(s.result_table)
          WHERE s.label_id = $1`,
        [labelId],
      )
      expect(dist.rows[0]!.n, 'the result table is distributed').toBe(1)
    }
  }, 120_000)

  it('each scheduled slot runs once across the processes', async () => {
    const [, p2] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    // The next minute at least 15 s away (slots are whole minutes; LABELS_TZ is UTC).
    const slot = new Date(Math.ceil((Date.now() + 15_000) / 60_000) * 60_000)
    const at = slot.toISOString().slice(11, 16)
    const made = await api(p2.http, 'editor', '/api/labels', {
      json: {
        name: 'buys_daily',
        displayName: 'Buys daily',
        dataType: 'number',
        labelType: 'dynamic',
        schedule: { kind: 'daily', at },
        rule: buyCount,
      },
    })
    expect(made.status, made.body).toBe(201)
    const labelId = made.json().id as string
    const scheduled = async () =>
      (
        await db.query<{ id: string; status: string; as_of: Date }>(
          `SELECT id, status, as_of FROM runs WHERE label_id = $1 AND trigger = 'schedule'`,
          [labelId],
        )
      ).rows
    await poll(
      async () => (await scheduled()).some((r) => r.status === 'succeeded'),
      slot.getTime() - Date.now() + 90_000,
      'the scheduled run',
    )
    await new Promise((r) => setTimeout(r, 5000)) // time for a second process to (wrongly) run it too
    const runs = await scheduled()
    expect(runs).toHaveLength(1)
    expect(new Date(runs[0]!.as_of).toISOString()).toBe(slot.toISOString())
    const claims = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schedule_slots WHERE label_id = $1`, [
      labelId,
    ])
    expect(claims.rows[0]!.n).toBe(1)
  }, 150_000)

  it('a run killed with its process (kill -9) is failed with its error recorded, and another process runs the label again', async () => {
    const [p1, p2, p3] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    const labelId = (await api(p1.http, 'viewer', '/api/labels/buys')).json().id as string
    // Hold the run mid-calculation: it waits for the users table this transaction locks.
    const blocker = await openPostgres(schema.url, { max: 1 })
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    let locked!: () => void
    const isLocked = new Promise<void>((r) => (locked = r))
    const holding = blocker.transaction(async (tx) => {
      await tx.exec('LOCK TABLE users IN ACCESS EXCLUSIVE MODE')
      locked()
      await released
    })
    try {
      await isLocked
      const calc = await api(p3.http, 'editor', `/api/labels/${labelId}/calculate`, { json: {} })
      expect(calc.status, calc.body).toBe(202)
      const runId = calc.json().runId as string
      await poll(
        async () =>
          (await db.query<{ status: string }>(`SELECT status FROM runs WHERE id = $1`, [runId])).rows[0]?.status ===
          'running',
        30_000,
        'the run running on p3',
      )
      // p3 records itself as the run's owner (a moment after creating it; a lease later it would be an orphan).
      const owner = await poll(
        async () => {
          const o = await db.query<{ node_id: string }>(`SELECT node_id FROM cluster_runs WHERE run_id = $1`, [runId])
          return o.rows.length === 1 ? o : null
        },
        10_000,
        "p3's ownership of the run",
      )
      await p3.kill9()
      nodes.splice(2, 1)
      // Another process takes it over at once (the dead one's connection is gone from
      // pg_stat_activity): the interrupted run is failed with its error where operators see it
      // (SPEC §6), as on PGlite, and a new run of the label, with the same trigger and asOf, takes
      // its place, owned by a live process.
      const killed = await poll(
        async () => {
          const r = (await api(p1.http, 'viewer', `/api/runs/${runId}`)).json()
          return r.status === 'failed' ? r : null
        },
        30_000,
        'the killed run to be failed',
      )
      expect(killed.error).toMatch(/^interrupted: /)
      const again = await poll(
        async () => {
          const runs = (await api(p1.http, 'viewer', `/api/labels/${labelId}/runs`)).json().runs as Array<{
            id: string
            trigger: string
            asOf: string
          }>
          return runs.find((r) => r.id !== runId && r.asOf === killed.asOf) ?? null
        },
        30_000,
        'a new run in its place',
      )
      expect(again.trigger).toBe(killed.trigger)
      const newOwner = await db.query<{ node_id: string }>(`SELECT node_id FROM cluster_runs WHERE run_id = $1`, [
        again.id,
      ])
      expect(newOwner.rows.map((o) => o.node_id)).not.toContain(owner.rows[0]!.node_id)
      release()
      await holding
      // Every process says it succeeded, and shows its distribution, once the run's announcement
      // reaches it (a process answers a run's status from memory, kept by the others'
      // announcements: CI saw p2 still answer `running` right after p1 answered `succeeded`).
      for (const n of [p1, p2]) {
        await poll(
          async () => (await api(n.http, 'viewer', `/api/runs/${again.id}`)).json().status === 'succeeded',
          60_000,
          `the new run to succeed as ${n === p1 ? 'p1' : 'p2'} sees it`,
        )
        await poll(
          async () => (await api(n.http, 'viewer', `/api/labels/${labelId}/distribution`)).json().runId === again.id,
          10_000,
          `the new run's distribution as ${n === p1 ? 'p1' : 'p2'} shows it`,
        )
        expect((await api(n.http, 'viewer', `/api/runs/${runId}`)).json().status).toBe('failed')
      }
      const left = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runs WHERE status IN ('queued', 'running')`,
      )
      expect(left.rows[0]!.n).toBe(0)
    } finally {
      release()
      await holding.catch(() => {})
      await blocker.close()
    }
  }, 150_000)

  it('kill -9 of a process loses no acknowledged edit (REST 2xx, or a Yjs update another process relayed)', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    const a = client(p1)
    const b = client(p2)
    await Promise.all([synced(a), synced(b)])
    const rest = await api(p1.http, 'editor', '/api/groups', { json: { name: 'acked over REST on p1' } })
    expect(rest.status, rest.body).toBe(201)
    createGroup(a.doc, { name: 'acked over Yjs on p1' }, origin('local', 'a'))
    // Acknowledged: the client on p2 received it (a process relays only what is stored).
    await until(() => groupNames(b).includes('acked over Yjs on p1'), 15_000)
    await p1.kill9()
    nodes.splice(0, 1)
    for (const name of ['acked over REST on p1', 'acked over Yjs on p1']) {
      expect(await restGroupNames(p2)).toContain(name)
    }
    // A process started afterwards loads both from the store.
    const p4 = await startNode('p4', schema.url)
    nodes.push(p4)
    const names = await restGroupNames(p4)
    expect(names).toContain('acked over REST on p1')
    expect(names).toContain('acked over Yjs on p1')
    expect(names).toEqual(await restGroupNames(p2))
  }, 240_000)
})
