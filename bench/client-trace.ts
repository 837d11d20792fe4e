/**
 * BENCH_TRACE=prefix for `npm run bench -- client`: a Chromium trace of the last load (and of the
 * keystrokes) written to `prefix-load.json` / `prefix-keys.json` (open in Chrome DevTools,
 * Performance, or https://ui.perfetto.dev), and a summary printed: where the page's main thread
 * and its workers spent the time (self time per trace event: script compile and run, style,
 * layout, paint, GC), and when the requests of the load started and finished. A CPU profile
 * (BENCH_PROFILE) names functions; this says what the rest of the time was.
 */
import { writeFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { round } from './collab.ts'

interface TraceEvent {
  name: string
  cat: string
  ph: string
  ts: number
  dur?: number
  pid: number
  tid: number
  args?: { name?: string; data?: { url?: string; requestId?: string; identifier?: number } }
}

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8',
  'v8.execute',
  'blink',
  'blink.user_timing',
  'loading',
  'toplevel',
  'disabled-by-default-v8.gc',
]

/** Starts tracing `page`; the returned function stops it, writes the trace and prints the summary. */
export async function traceWhile(browser: Browser, page: Page, what: string): Promise<(() => Promise<void>) | null> {
  const prefix = process.env['BENCH_TRACE']
  if (!prefix) return null
  await browser.startTracing(page, { categories: CATEGORIES })
  return async () => {
    const buf = await browser.stopTracing()
    const file = `${prefix}-${what}.json`
    await writeFile(file, buf)
    console.log(`trace: ${file}`)
    printSummary(summarizeTrace(JSON.parse(buf.toString()) as { traceEvents: TraceEvent[] } | TraceEvent[]))
  }
}

export interface TraceSummary {
  /** ms from the first to the last event of the busiest renderer main thread. */
  spanMs: number
  threads: Array<{ thread: string; busyMs: number; top: Array<{ name: string; selfMs: number }> }>
  requests: Array<{ url: string; startMs: number; endMs: number | null }>
}

/** Self time per event name on each thread (ms), the busiest threads first; request start/finish times. */
export function summarizeTrace(trace: { traceEvents: TraceEvent[] } | TraceEvent[], topN = 18): TraceSummary {
  const events = Array.isArray(trace) ? trace : trace.traceEvents
  const threadName = new Map<string, string>()
  for (const e of events)
    if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name) threadName.set(`${e.pid}:${e.tid}`, e.args.name)
  // Complete events (X) and begin/end pairs (B/E) per thread, as [start, end, name].
  const spans = new Map<string, Array<[number, number, string]>>()
  const open = new Map<string, Array<TraceEvent>>()
  for (const e of events) {
    const k = `${e.pid}:${e.tid}`
    if (e.ph === 'X' && e.dur !== undefined) {
      let list = spans.get(k)
      if (!list) spans.set(k, (list = []))
      list.push([e.ts, e.ts + e.dur, e.name])
    } else if (e.ph === 'B') {
      let st = open.get(k)
      if (!st) open.set(k, (st = []))
      st.push(e)
    } else if (e.ph === 'E') {
      const b = open.get(k)?.pop()
      if (!b) continue
      let list = spans.get(k)
      if (!list) spans.set(k, (list = []))
      list.push([b.ts, e.ts, b.name])
    }
  }
  let t0 = Number.POSITIVE_INFINITY
  let t1 = 0
  const threads: TraceSummary['threads'] = []
  for (const [k, list] of spans) {
    const name = threadName.get(k) ?? k
    if (!/CrRendererMain|Worker|DedicatedWorker|ThreadPoolForegroundWorker/.test(name)) continue
    list.sort((a, b) => a[0] - b[0] || b[1] - a[1])
    const self = new Map<string, number>()
    const stack: Array<[number, number, string]> = []
    let busy = 0
    for (const s of list) {
      while (stack.length && (stack[stack.length - 1] as [number, number, string])[1] <= s[0]) stack.pop()
      const parent = stack[stack.length - 1]
      const d = s[1] - s[0]
      if (parent) self.set(parent[2], (self.get(parent[2]) ?? 0) - Math.min(d, parent[1] - s[0]))
      else busy += d
      self.set(s[2], (self.get(s[2]) ?? 0) + d)
      stack.push(s)
    }
    if (/CrRendererMain/.test(name) && list.length) {
      t0 = Math.min(t0, (list[0] as [number, number, string])[0])
      t1 = Math.max(t1, ...list.slice(-50).map((s) => s[1]))
    }
    const top = [...self]
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([n, us]) => ({ name: n, selfMs: round(us / 1000) }))
    threads.push({ thread: `${name} (${k})`, busyMs: round(busy / 1000), top })
  }
  threads.sort((a, b) => b.busyMs - a.busyMs)
  const requests: TraceSummary['requests'] = []
  const byId = new Map<string, TraceSummary['requests'][number]>()
  for (const e of events) {
    const d = e.args?.data
    if (!d) continue
    if (e.name === 'ResourceSendRequest' && d.url && d.requestId) {
      const r = {
        url: d.url.replace(/^https?:\/\/[^/]+/, '').replace(/token=[^&]+/, 'token=…'),
        startMs: e.ts,
        endMs: null,
      }
      byId.set(d.requestId, r)
      requests.push(r)
    } else if (e.name === 'ResourceFinish' && d.requestId) {
      const r = byId.get(d.requestId)
      if (r) r.endMs = e.ts
    } else if (e.name === 'WebSocketCreate' && d.url) {
      requests.push({ url: `ws ${d.url.replace(/^wss?:\/\/[^/]+/, '')}`, startMs: e.ts, endMs: null })
    }
  }
  const base = Number.isFinite(t0) ? t0 : 0
  return {
    spanMs: round((t1 - base) / 1000),
    threads: threads.slice(0, 4),
    requests: requests.map((r) => ({
      url: r.url,
      startMs: round((r.startMs - base) / 1000),
      endMs: r.endMs === null ? null : round((r.endMs - base) / 1000),
    })),
  }
}

function printSummary(s: TraceSummary): void {
  console.log(`trace span (renderer main thread): ${s.spanMs} ms`)
  for (const t of s.threads) {
    console.log(`${t.thread}: busy ${t.busyMs} ms; self time by event:`)
    console.log(t.top.map((x) => `  ${x.selfMs.toFixed(1).padStart(8)} ms  ${x.name}`).join('\n'))
  }
  console.log('requests (ms from the trace start):')
  for (const r of s.requests.slice(0, 30))
    console.log(`  ${String(r.startMs).padStart(8)} → ${String(r.endMs ?? '…').padStart(8)}  ${r.url}`)
}
