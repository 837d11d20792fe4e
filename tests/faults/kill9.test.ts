import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGroup, projectWorkspace } from '../../shared/doc/index.ts'
import { newClient, synced, until, type TestClient } from '../server/collab/helpers.ts'
import { tokens } from '../server/helpers.ts'
import { api, buyCount, buyEvents, faultRounds, poll, rng, startApp, storedCounts, type AppProcess } from './harness.ts'

/**
 * kill -9 of the whole app (child process, PGlite data directory on disk) while a calculation
 * and an ingestion are in flight, right after acknowledged edits:
 * - a REST write that answered 2xx — the kill follows its reply at once;
 * - a Yjs update the server acknowledged, i.e. another client received it (the server
 *   broadcasts an update only once it is stored: tests/server/collab/durability.test.ts).
 * After each restart: every acknowledged edit is there, the ingestion is all or nothing (the
 * users and events counts are those before or those after it, and after it when it answered
 * 200), no run is left queued or running (each interrupted one is failed 'interrupted'), and the
 * distribution is one run's whole result. Rounds: FAULT_ROUNDS (the soak bench runs 20), else 2 (CI).
 * FAULT_SEED replays the kill delays of a failing run.
 */
const ROUNDS = faultRounds(2)
const SEED_EVENTS = Number(process.env.FAULT_SEED_EVENTS ?? 80_000)
const ROUND_EVENTS = Number(process.env.FAULT_ROUND_EVENTS ?? 40_000)

interface Flat {
  name: string
  children?: Flat[]
}
const flatten = (gs: Flat[]): string[] => gs.flatMap((g) => [g.name, ...flatten(g.children ?? [])])

describe('kill -9 during a calculation, an ingestion and right after acknowledged edits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labels-kill9-'))
  const random = rng()
  let app: AppProcess
  const acked = { rest: [] as string[], yjs: [] as string[] }
  /** Every users count the data has had: a run's totalUsers must be one of them. */
  const userCounts = new Set<number>()
  let calcMs = 0
  let ingestMs = 0
  const outcome = {
    runsInterrupted: 0,
    runsFinished: 0,
    runsQueuedNeverStarted: 0,
    ingestStored: 0,
    ingestNotStored: 0,
    ingestAnswered200: 0,
  }

  beforeAll(async () => {
    app = await startApp(dir)
    const ts = Date.now()
    const seed = await api(app.http, 'admin', '/api/data/events', {
      body: buyEvents('seed', SEED_EVENTS),
      type: 'application/x-ndjson',
    })
    expect(seed.status, seed.body).toBe(200)
    ingestMs = ((Date.now() - ts) * ROUND_EVENTS) / SEED_EVENTS
    const label = await api(app.http, 'editor', '/api/labels', {
      json: { name: 'buys', displayName: 'Buys', dataType: 'number', labelType: 'static', rule: buyCount },
    })
    expect(label.status, label.body).toBe(201)
    const run = await poll(
      async () => {
        const runs = (await api(app.http, 'viewer', '/api/labels/buys/runs')).json().runs as Array<{
          status: string
          startedAt: string
          finishedAt: string
        }>
        return runs.find((x) => x.status === 'succeeded')
      },
      120_000,
      'the first run',
    )
    calcMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt)
    const c = await storedCounts(app.http)
    expect(c).toEqual({ users: SEED_EVENTS, events: SEED_EVENTS })
    userCounts.add(c.users)
    console.log(
      `[kill9] seed ${SEED_EVENTS} events, one calculation took ${calcMs} ms, a round's ingestion ~${Math.round(ingestMs)} ms; ${ROUNDS} rounds, FAULT_SEED=${random.seed}`,
    )
  })

  afterAll(async () => {
    await app?.kill9()
    rmSync(dir, { recursive: true, force: true })
    console.log(
      `[kill9] ${ROUNDS} rounds survived: ${acked.rest.length} REST writes and ${acked.yjs.length} Yjs updates acknowledged right before the kill, all there after restart; ` +
        `runs: ${outcome.runsInterrupted} killed mid-run (failed 'interrupted'), ${outcome.runsQueuedNeverStarted} killed while queued (failed 'interrupted'), ${outcome.runsFinished} finished before the kill; ` +
        `ingestions: ${outcome.ingestNotStored} killed before commit (nothing stored), ${outcome.ingestStored} stored whole (${outcome.ingestAnswered200} of them answered 200 before the kill)`,
    )
  })

  for (let r = 1; r <= ROUNDS; r++) {
    it(`round ${r}`, async () => {
      const before = await storedCounts(app.http)
      const clients: TestClient[] = [newClient(app.collab, tokens.editor), newClient(app.collab, tokens.editor)]
      const [a, b] = clients as [TestClient, TestClient]
      await Promise.all([synced(a), synced(b)])

      // A calculation and an ingestion in flight.
      const calc = await api(app.http, 'editor', '/api/labels/buys/calculate', { json: {} })
      expect(calc.status, calc.body).toBe(202)
      const runId = calc.json().runId as string
      // A second trigger while it runs: on PGlite acknowledged before its row can be stored (the
      // calculation holds the connection), so kept on disk until then (server/runs/run-journal.ts).
      const calc2 = await api(app.http, 'editor', '/api/labels/buys/calculate', { json: {} })
      expect(calc2.status, calc2.body).toBe(202)
      const runId2 = calc2.json().runId as string
      let ingestStatus: number | 'killed' | null = null
      const ingest = api(app.http, 'admin', '/api/data/events', {
        body: buyEvents(`r${r}`, ROUND_EVENTS),
        type: 'application/x-ndjson',
      }).then(
        (x) => {
          ingestStatus = x.status
        },
        () => {
          ingestStatus = 'killed'
        },
      )
      // Odd rounds aim at the calculation (the edits below take a while too), even ones at the
      // ingestion, from its start to past its end.
      await new Promise((res) => setTimeout(res, random.next() * (r % 2 ? 0.6 * calcMs : 1.3 * ingestMs + 300)))

      // A Yjs update, acknowledged: the other client has it.
      createGroup(a.doc, { name: `yjs-${r}` }, { kind: 'local', actor: 'alice' })
      await until(
        () => projectWorkspace(b.doc).groups.some((g) => g.name === `yjs-${r}`),
        60_000,
        'b receives the update',
      )
      acked.yjs.push(`yjs-${r}`)
      // A REST write, acknowledged 201: kill at once.
      const g = await api(app.http, 'editor', '/api/groups', { json: { name: `rest-${r}` } })
      const answeredBeforeKill: number | 'killed' | null = ingestStatus
      await app.kill9()
      expect(g.status, g.body).toBe(201)
      acked.rest.push(`rest-${r}`)
      clients.forEach((c) => c.destroy())
      await ingest

      app = await startApp(dir)
      // Every acknowledged edit of every round so far.
      const names = flatten((await api(app.http, 'viewer', '/api/groups')).json().groups as Flat[])
      for (const n of [...acked.rest, ...acked.yjs])
        expect(names, `acknowledged group ${n} after round ${r}`).toContain(n)

      // No run left queued or running; the interrupted one says so.
      const runs = (await api(app.http, 'viewer', '/api/labels/buys/runs')).json().runs as Array<{
        id: string
        status: string
        error?: string
        startedAt: string | null
        totalUsers: number | null
      }>
      for (const run of runs) {
        expect(['succeeded', 'failed'], JSON.stringify(run)).toContain(run.status)
        if (run.status === 'failed') expect(run.error).toBe('interrupted')
      }
      // Both acknowledged runs are there, whatever the moment of the kill.
      expect(runs.map((x) => x.id)).toContain(runId2)
      const mine = runs.find((x) => x.id === runId)!
      if (mine.status === 'succeeded') outcome.runsFinished++
      else if (mine.startedAt) outcome.runsInterrupted++
      else outcome.runsQueuedNeverStarted++

      // The ingestion: all or nothing, and stored if it answered 200.
      const after = await storedCounts(app.http)
      const whole = { users: before.users + ROUND_EVENTS, events: before.events + ROUND_EVENTS }
      expect([before, whole], `round ${r}: counts ${JSON.stringify(after)}`).toContainEqual(after)
      if (answeredBeforeKill === 200) {
        expect(after).toEqual(whole)
        outcome.ingestAnswered200++
      }
      if (after.users === whole.users) outcome.ingestStored++
      else outcome.ingestNotStored++
      userCounts.add(after.users)

      // The distribution is one succeeded run's whole result.
      const d = await api(app.http, 'viewer', '/api/labels/buys/distribution')
      expect(d.status, d.body).toBe(200)
      const dist = d.json() as {
        runId: string
        totalUsers: number
        coveredUsers: number
        items: Array<{ users: number }>
      }
      expect(runs.find((x) => x.id === dist.runId)?.status).toBe('succeeded')
      expect(dist.items.reduce((s, i) => s + i.users, 0)).toBe(dist.coveredUsers)
      expect(
        userCounts.has(dist.totalUsers),
        `totalUsers ${dist.totalUsers} is a count the data had (${[...userCounts]})`,
      ).toBe(true)
    })
  }

  it('after the last restart a calculation runs to the end over everything stored', async () => {
    const calc = await api(app.http, 'editor', '/api/labels/buys/calculate', { json: {} })
    expect(calc.status).toBe(202)
    const runId = calc.json().runId as string
    const run = await poll(
      async () => {
        const x = (await api(app.http, 'viewer', `/api/runs/${runId}`)).json() as { status: string; totalUsers: number }
        return x.status === 'succeeded' || x.status === 'failed' ? x : null
      },
      120_000,
      'the last run',
    )
    expect(run.status).toBe('succeeded')
    expect(run.totalUsers).toBe((await storedCounts(app.http)).users)
  })
})
