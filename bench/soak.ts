/**
 * npm run bench -- soak [--minutes 10] [--events 10000000] [--editors 200] [--readers 50]
 *                       [--big-body-mb 1024] [--kill-rounds 20] [--editor-processes 2]
 *
 * The load case of issue 12: the whole app in a child process on a PGlite data directory (the
 * fault suite's server, tests/faults/harness.ts), loaded with the demo data (--events events,
 * ~10.5 per user), then for --minutes:
 * - --editors WebSocket editors (y-websocket protocol) in --editor-processes child processes
 *   (bench/soak-editors.ts), each renaming its own group every 1–3 s; an observer (the stock
 *   y-websocket client, in this process) times each rename from the editor's clock to its
 *   arrival (edit → stored → broadcast);
 * - --readers HTTP readers in a loop over distribution, runs list, one run, history;
 * - calculations back to back over all events (a label counting every event per user);
 * then reports p50/p99/max per kind, errors, and the server's RSS sampled every 5 s.
 * Afterwards (unless 0): a --big-body-mb NDJSON body streamed to POST /api/data/events with the
 * server's peak RSS during it, and the kill -9 fault rounds (tests/faults/kill9.test.ts with
 * FAULT_ROUNDS=--kill-rounds). Results go to bench/results/soak-<time>.json.
 * SOAK_CPU_PROF=DIR writes a V8 CPU profile of the server process (10 ms samples) into DIR when
 * it stops (open it in Chrome's DevTools, or sum its self time per function).
 */
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { demoEvents, demoUsers } from '../engine/demo/index.ts'
import { projectWorkspace } from '../shared/doc/index.ts'
import { newClient, synced } from '../tests/server/collab/helpers.ts'
import { api, startApp, type AppProcess } from '../tests/faults/harness.ts'
import { tokens } from '../tests/server/helpers.ts'

interface Opts {
  minutes: number
  events: number
  editors: number
  readers: number
  bigBodyMb: number
  killRounds: number
  editorProcesses: number
}

function parseArgs(args: string[]): Opts {
  const o: Opts = {
    minutes: 10,
    events: 10_000_000,
    editors: 200,
    readers: 50,
    bigBodyMb: 1024,
    killRounds: 20,
    editorProcesses: 2,
  }
  const keys: Record<string, keyof Opts> = {
    '--minutes': 'minutes',
    '--events': 'events',
    '--editors': 'editors',
    '--readers': 'readers',
    '--big-body-mb': 'bigBodyMb',
    '--kill-rounds': 'killRounds',
    '--editor-processes': 'editorProcesses',
  }
  for (let i = 0; i < args.length; i++) {
    const k = keys[args[i]!]
    if (!k) throw new Error(`unknown flag ${args[i]}; flags: ${Object.keys(keys).join(' ')}`)
    o[k] = Number(args[++i])
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new Error(`${args[i - 1]} needs a number`)
  }
  return o
}

/** Latencies and errors of one kind of request. */
class Series {
  readonly ms: number[] = []
  errors = 0
  readonly errorSamples: string[] = []
  add(ms: number) {
    this.ms.push(ms)
  }
  fail(why: string) {
    this.errors++
    if (this.errorSamples.length < 5) this.errorSamples.push(why.slice(0, 200))
  }
  summary() {
    const s = [...this.ms].sort((a, b) => a - b)
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN)
    return {
      n: s.length,
      p50: Math.round(q(0.5)),
      p99: Math.round(q(0.99)),
      max: Math.round(s[s.length - 1] ?? NaN),
      errors: this.errors,
      errorSamples: this.errorSamples,
    }
  }
}

const rssMb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 1024) : NaN
  } catch {
    return NaN
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Posts records as NDJSON in requests of `per` records. */
async function ingest(
  app: AppProcess,
  kind: 'users' | 'events',
  records: Iterable<unknown>,
  per: number,
): Promise<number> {
  let buf: string[] = []
  let n = 0
  const flush = async () => {
    if (!buf.length) return
    const r = await api(app.http, 'admin', `/api/data/${kind}`, {
      body: buf.join('\n') + '\n',
      type: 'application/x-ndjson',
    }).catch((e: unknown) => {
      throw new Error(
        `ingest ${kind} after ${n} records: ${String(e)} (${(e as { cause?: unknown }).cause ?? ''}); server: ${app.diagnosis()}`,
      )
    })
    if (r.status !== 200) throw new Error(`ingest ${kind}: ${r.status} ${r.body.slice(0, 300)}`)
    n += buf.length
    buf = []
  }
  for (const rec of records) {
    buf.push(JSON.stringify(rec))
    if (buf.length >= per) await flush()
  }
  await flush()
  return n
}

interface EditorsDone {
  sent: number
  errors: number
  errorSamples: string[]
  last: string[]
}

/** A child process running a share of the editors (bench/soak-editors.ts). */
interface EditorProcess {
  go(endMs: number): void
  done: Promise<EditorsDone>
}

/** Starts the editors in --editor-processes children; resolves once all are synced with their group. */
async function startEditors(collab: string, o: Opts): Promise<EditorProcess[]> {
  const n = Math.max(1, Math.min(o.editorProcesses, o.editors))
  const per = Math.ceil(o.editors / n)
  const started: Array<Promise<EditorProcess>> = []
  for (let p = 0; p < n; p++) {
    const first = p * per
    const count = Math.min(per, o.editors - first)
    if (count <= 0) break
    const editorTokens = Array.from({ length: count }, (_, k) => ((first + k) % 2 ? tokens.editor : tokens.admin))
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'soak-editors.ts'),
        collab,
        JSON.stringify({ tokens: editorTokens, first, prefix: 'soak' }),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    )
    const lines = createInterface({ input: child.stdout! })
    let ready: (v: EditorProcess) => void
    let fail: (e: Error) => void
    const readyP = new Promise<EditorProcess>((res, rej) => ((ready = res), (fail = rej)))
    let finish: (d: EditorsDone) => void
    const done = new Promise<EditorsDone>((res) => (finish = res))
    child.once('exit', (code) => {
      fail(new Error(`editor process ${p} exited (${code}) before it was ready`))
      finish({ sent: 0, errors: count, errorSamples: [`editor process ${p} exited (${code})`], last: [] })
    })
    lines.on('line', (l) => {
      const m = JSON.parse(l) as { ready?: number } & Partial<EditorsDone> & { done?: boolean }
      if (m.ready !== undefined) ready({ go: (end) => child.stdin!.write(`go ${end}\n`), done })
      if (m.done) finish(m as EditorsDone)
    })
    started.push(readyP)
  }
  return Promise.all(started)
}

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args)
  const dir = mkdtempSync(join(tmpdir(), 'labels-soak-'))
  const users = Math.max(10, Math.round(o.events / 10.5))
  console.log(
    `soak: ${o.minutes} min, ~${o.events} events (${users} demo users), ${o.editors} editors, ${o.readers} readers; data in ${dir}`,
  )
  const t0 = Date.now()
  const profDir = process.env.SOAK_CPU_PROF
  const app = await startApp(
    dir,
    {},
    profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '10000'] : [],
  )
  const pid = app.child.pid!
  const rss: Array<{ s: number; mb: number; phase: string }> = []
  let phase = 'load'
  const sampler = setInterval(() => rss.push({ s: Math.round((Date.now() - t0) / 1000), mb: rssMb(pid), phase }), 5000)
  const result: Record<string, unknown> = { opts: o, startedAt: new Date().toISOString() }
  try {
    const demo = { users, seed: 7, days: 90 }
    let tl = Date.now()
    await ingest(app, 'users', demoUsers(demo), 100_000)
    const events = await ingest(app, 'events', demoEvents(demo), 100_000)
    result.load = { users, events, seconds: (Date.now() - tl) / 1000 }
    console.log(
      `loaded ${users} users and ${events} events in ${((Date.now() - tl) / 1000).toFixed(1)} s (server RSS ${rssMb(pid)} MB)`,
    )

    // The calculated label: every event counted per user, over all event tables.
    const schema = (await api(app.http, 'viewer', '/api/data/schema')).json() as { events: Array<{ name: string }> }
    const allEvents = schema.events.map((e) => e.name)
    const rule = {
      method: 'custom',
      values: allEvents.map((ev, i) => ({ value: `active_${i}`, when: { event: ev, op: 'gte', value: 1 } })),
      otherwise: 'none',
    }
    const lr = await api(app.http, 'editor', '/api/labels', {
      json: { name: 'soak_activity', displayName: 'Soak', dataType: 'string', labelType: 'static', rule },
    })
    if (lr.status !== 201) throw new Error(`label: ${lr.status} ${lr.body}`)
    const cr = await api(app.http, 'editor', '/api/labels', {
      json: {
        name: 'soak_count',
        displayName: 'Soak count',
        dataType: 'number',
        labelType: 'static',
        rule: { method: 'metric', event: allEvents[0], measure: { agg: 'count' } },
      },
    })
    if (cr.status !== 201) throw new Error(`label: ${cr.status} ${cr.body}`)

    // Editors: each owns one group and renames it; the observer times each rename's arrival.
    const kinds = {
      edit: new Series(),
      distribution: new Series(),
      runs: new Series(),
      run: new Series(),
      history: new Series(),
      calculation: new Series(),
    }
    tl = Date.now()
    const observer = newClient(app.collab, tokens.editor) // never edits: a stock y-websocket client that applies every rename
    await synced(observer)
    const editors = await startEditors(app.collab, o)
    console.log(
      `${o.editors} editors in ${editors.length} processes connected and synced in ${((Date.now() - tl) / 1000).toFixed(1)} s`,
    )
    const seen = new Map<string, string>()
    observer.doc.on('afterTransaction', () => {
      const now = Date.now()
      for (const g of projectWorkspace(observer.doc).groups) {
        if (!g.name.startsWith('soak-') || seen.get(g.id) === g.name) continue
        seen.set(g.id, g.name)
        const sent = Number(g.name.split('-')[3])
        if (phase === 'soak' && Number(g.name.split('-')[2]) > 0) kinds.edit.add(now - sent)
      }
    })

    phase = 'soak'
    // This process runs every client: its own event-loop delay is part of each latency above.
    const lag = monitorEventLoopDelay({ resolution: 20 })
    lag.enable()
    const end = Date.now() + o.minutes * 60_000
    const loops: Promise<void>[] = []
    // Editors (child processes).
    for (const e of editors) e.go(end)
    // Readers.
    let lastRunId: string | null = null
    const timed = async (s: Series, path: string) => {
      const t = performance.now()
      try {
        const r = await api(app.http, 'viewer', path)
        if (r.status >= 400 && !(r.status === 404 && path.includes('distribution')))
          s.fail(`${path} ${r.status} ${r.body.slice(0, 120)}`)
        else s.add(performance.now() - t)
        return r
      } catch (e) {
        s.fail(`${path} ${String(e)}`)
        return null
      }
    }
    for (let i = 0; i < o.readers; i++)
      loops.push(
        (async () => {
          while (Date.now() < end) {
            await timed(kinds.distribution, `/api/labels/soak_activity/distribution${i % 2 ? '?top=5&sort=value' : ''}`)
            const runs = await timed(kinds.runs, '/api/labels/soak_activity/runs')
            const id = lastRunId ?? (runs?.status === 200 ? (runs.json().runs[0]?.id as string | undefined) : undefined)
            if (id) await timed(kinds.run, `/api/runs/${id}`)
            await timed(kinds.history, '/api/labels/soak_count/history')
            await sleep(200 + Math.random() * 300)
          }
        })(),
      )
    // Calculations back to back.
    loops.push(
      (async () => {
        while (Date.now() < end) {
          const t = performance.now()
          const r = await api(app.http, 'editor', '/api/labels/soak_activity/calculate', { json: {} }).catch(
            (e: unknown) => ({ status: 0, body: String(e), json: () => ({}) }),
          )
          if (r.status !== 202) {
            kinds.calculation.fail(`${r.status} ${r.body}`)
            await sleep(1000)
            continue
          }
          lastRunId = (r.json() as { runId: string }).runId
          for (;;) {
            await sleep(500)
            const s = await api(app.http, 'viewer', `/api/runs/${lastRunId}`).catch(() => null)
            const status = s?.status === 200 ? (s.json().status as string) : 'unknown'
            if (status === 'succeeded') {
              kinds.calculation.add(performance.now() - t)
              break
            }
            if (status === 'failed') {
              kinds.calculation.fail(JSON.stringify(s!.json()))
              break
            }
          }
        }
      })(),
    )
    const progress = setInterval(
      () =>
        console.log(
          `  ${Math.round((end - Date.now()) / 1000)} s left; RSS ${rssMb(pid)} MB; edits ${kinds.edit.ms.length}, reads ${kinds.distribution.ms.length}, calculations ${kinds.calculation.ms.length}`,
        ),
      30_000,
    )
    await Promise.all(loops)
    const done = await Promise.all(editors.map((e) => e.done))
    for (const d of done) {
      kinds.edit.errors += d.errors
      kinds.edit.errorSamples.push(...d.errorSamples.slice(0, 5 - kinds.edit.errorSamples.length))
    }
    result.editsSent = done.reduce((n, d) => n + d.sent, 0)
    clearInterval(progress)
    phase = 'after'
    await sleep(3000) // the last renames arrive
    const expectedEdits = o.editors // each editor's latest name must have arrived
    const names = new Set(seen.values())
    const arrived = done.flatMap((d) => d.last).filter((name) => names.has(name)).length
    observer.destroy()
    lag.disable()
    result.benchEventLoopDelayMs = {
      p50: Math.round(lag.percentile(50) / 1e6),
      p99: Math.round(lag.percentile(99) / 1e6),
      max: Math.round(lag.max / 1e6),
    }
    console.log(
      `\nthe bench's own event-loop delay (part of every latency below): ${JSON.stringify(result.benchEventLoopDelayMs)} ms`,
    )
    result.latencyMs = Object.fromEntries(Object.entries(kinds).map(([k, s]) => [k, s.summary()]))
    result.editsArrived = `${arrived}/${expectedEdits}`
    console.log('\nkind          n        p50 ms   p99 ms   max ms   errors')
    for (const [k, s] of Object.entries(kinds)) {
      const x = s.summary()
      console.log(
        `${k.padEnd(13)} ${String(x.n).padStart(7)}  ${String(x.p50).padStart(7)}  ${String(x.p99).padStart(7)}  ${String(x.max).padStart(7)}   ${x.errors}${x.errors ? ' e.g. ' + x.errorSamples[0] : ''}`,
      )
    }
    const soakRss = rss.filter((r) => r.phase === 'soak')
    const third = Math.max(1, Math.floor(soakRss.length / 3))
    const avg = (xs: typeof rss) => Math.round(xs.reduce((a, r) => a + r.mb, 0) / Math.max(1, xs.length))
    result.rss = {
      samples: rss,
      soakFirstThirdAvgMb: avg(soakRss.slice(0, third)),
      soakLastThirdAvgMb: avg(soakRss.slice(-third)),
      soakMaxMb: Math.max(...soakRss.map((r) => r.mb)),
    }
    console.log(`\nserver RSS (MB) every 5 s during the soak: ${soakRss.map((r) => r.mb).join(' ')}`)
    console.log(
      `first third avg ${avg(soakRss.slice(0, third))} MB, last third avg ${avg(soakRss.slice(-third))} MB, max ${Math.max(...soakRss.map((r) => r.mb))} MB`,
    )

    if (o.bigBodyMb > 0) {
      phase = 'big-body'
      const before = rssMb(pid)
      let peak = before
      const peakTimer = setInterval(() => {
        peak = Math.max(peak, rssMb(pid))
      }, 250)
      const target = o.bigBodyMb * 1024 * 1024
      async function* body() {
        let sent = 0,
          i = 0
        while (sent < target) {
          let chunk = ''
          for (let k = 0; k < 5000; k++, i++)
            chunk += `{"user_id":"big-${i % 100000}","event":"big_body","time":"2024-05-01T00:00:00Z","event_id":"b${i}","properties":{"pad":"${'x'.repeat(60)}"}}\n`
          sent += chunk.length
          yield Buffer.from(chunk)
        }
      }
      const tb = Date.now()
      const r = await fetch(`${app.http}/api/data/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/x-ndjson' },
        body: Readable.from(body()) as unknown as BodyInit,
        duplex: 'half',
      } as RequestInit)
      const text = await r.text()
      clearInterval(peakTimer)
      result.bigBody = {
        mb: o.bigBodyMb,
        status: r.status,
        seconds: (Date.now() - tb) / 1000,
        rssBeforeMb: before,
        rssPeakMb: peak,
        reply: text.slice(0, 300),
      }
      console.log(
        `\n${o.bigBodyMb} MB streamed NDJSON body: ${r.status} in ${((Date.now() - tb) / 1000).toFixed(1)} s; server RSS ${before} MB before, peak ${peak} MB (${text.slice(0, 160)})`,
      )
    }
  } finally {
    clearInterval(sampler)
    await app.stop()
    rmSync(dir, { recursive: true, force: true })
  }

  if (o.killRounds > 0) {
    console.log(`\nkill -9 fault rounds: FAULT_ROUNDS=${o.killRounds} npx vitest run tests/faults/kill9.test.ts`)
    const k = spawnSync('npx', ['vitest', 'run', 'tests/faults/kill9.test.ts', '--testTimeout', String(600_000)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FAULT_ROUNDS: String(o.killRounds) },
    })
    const out = k.stdout.toString()
    const summary = out.split('\n').filter((l) => l.includes('[kill9]') || /Tests\s/.test(l))
    summary.forEach((l) => console.log(l.trim()))
    result.killRounds = { rounds: o.killRounds, exit: k.status, summary }
  }

  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const file = join(import.meta.dirname, 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(result, null, 2))
  console.log(`\nresults: ${file}`)
}
