import type { Worker } from 'node:worker_threads'
import type { BodyParser } from './ingestor.ts'
import type { Batch, ParseSummary, StoreLink } from './link.ts'
import { fromWire, toWire, type FromParser, type ToParser } from './parse-wire.ts'
import type { IngestFormat, IngestKind, IngestOptions } from './types.ts'

/** Chunks a request may have in the worker's queue before `push` waits (keeps it busy, bounds memory). */
const maxQueuedChunks = 16
/** An idle parse worker is stopped after this long (the next big request starts one again, ~0.3 s). */
let idleStopMs = 30_000
/**
 * The worker's entry. A variable, not a literal in `new Worker(new URL(…))`: the browser build
 * (which reaches this module through EngineService, but never parses in a worker) would
 * otherwise bundle it, tsx and all.
 */
const bootFile = './parse-worker-boot.mjs'

interface Client {
  store: StoreLink
  onPushed(error?: Error): void
  onFinished(summary?: ParseSummary, error?: Error): void
  onAborted(): void
}

/**
 * One parse worker thread shared by every request of this process, started on first use and
 * stopped after 30 s without requests. It is referenced only while a request uses it, so it
 * never keeps the process alive; if it dies, its requests fail and the next one starts anew.
 */
class ParsePool {
  private worker: Worker | null = null
  private readonly clients = new Map<number, Client>()
  private nextId = 0
  private idle: ReturnType<typeof setTimeout> | null = null

  /** Whether the running worker knows this request (not after it died: its requests are dropped). */
  attached(id: number): boolean {
    return this.clients.has(id)
  }

  get running(): boolean {
    return this.worker !== null
  }

  /** Stops the worker as a crash would (tests): its requests fail. */
  async crash(): Promise<void> {
    await this.worker?.terminate()
  }

  attach(client: Client): number {
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
    const id = ++this.nextId
    this.clients.set(id, client)
    this.ensure().ref()
    return id
  }

  detach(id: number): void {
    this.clients.delete(id)
    if (this.clients.size > 0) return
    this.worker?.unref()
    // An idle worker gives its heap back: it is stopped after a while without requests.
    if (this.idle) clearTimeout(this.idle)
    this.idle = setTimeout(() => {
      const w = this.worker
      if (!w || this.clients.size > 0) return
      this.worker = null
      void w.terminate()
    }, idleStopMs)
    this.idle.unref()
  }

  post(m: ToParser): void {
    this.ensure().postMessage(m)
  }

  private ensure(): Worker {
    if (this.worker) return this.worker
    // A larger young generation: parsing allocates a short-lived object per row, and fewer
    // scavenges measured faster.
    // worker_threads is looked up when first needed, not imported: the browser bundle reaches this
    // module (through EngineService) and must not touch a Node module when it loads.
    const { Worker: NodeWorker } = process.getBuiltinModule('node:worker_threads')
    const w = new NodeWorker(new URL(bootFile, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 64 } })
    w.on('message', (m: FromParser) => this.receive(m))
    const fail = (e: unknown) => {
      if (this.worker !== w) return
      this.worker = null
      const err = e instanceof Error ? e : new Error(`the parse worker stopped (${String(e)})`)
      for (const [id, c] of this.clients) {
        this.clients.delete(id)
        c.onPushed(err)
        c.onFinished(undefined, err)
        c.onAborted()
      }
    }
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`the parse worker exited with code ${code}`)))
    w.unref()
    this.worker = w
    return w
  }

  private receive(m: FromParser): void {
    const c = this.clients.get(m.id)
    if (!c) return
    if (m.op === 'pushed') c.onPushed(m.error && fromWire(m.error))
    else if (m.op === 'finished') c.onFinished(m.summary, m.error && fromWire(m.error))
    else if (m.op === 'aborted') c.onAborted()
    else if (m.op === 'call') void this.serve(c, m)
  }

  private async serve(c: Client, m: Extract<FromParser, { op: 'call' }>): Promise<void> {
    try {
      const value = m.method === 'open' ? await c.store.open()
        : m.method === 'resolveUids' ? await c.store.resolveUids(m.arg as string[])
          : await c.store.write(m.arg as Batch)
      this.post({ op: 'reply', id: m.id, call: m.call, value })
    } catch (e) {
      this.post({ op: 'reply', id: m.id, call: m.call, error: toWire(e) })
    }
  }
}

let pool: ParsePool | null = null

/** Whether the parse worker thread is running now; (tests) how long it may stay idle, and a simulated crash. */
export const parseWorker = {
  running: (): boolean => pool?.running ?? false,
  crash: async (): Promise<void> => pool?.crash(),
  setIdleStopMs(ms: number): void {
    idleStopMs = ms
  },
}

/** The parsing half of one request, run in the shared parse worker; store calls come back to `store`. */
export function parseInWorker(store: StoreLink, kind: IngestKind, format: IngestFormat, opts: IngestOptions): BodyParser {
  pool ??= new ParsePool()
  const p = pool
  let queued = 0
  let failure: Error | null = null
  let waiter: (() => void) | null = null
  let finished: { resolve: (s: ParseSummary) => void; reject: (e: Error) => void } | null = null
  let aborted: (() => void) | null = null
  let open = true
  const wake = () => {
    const w = waiter
    waiter = null
    w?.()
  }
  const id = p.attach({
    store,
    onPushed(error) {
      queued--
      if (error && !failure) failure = error
      wake()
    },
    onFinished(summary, error) {
      const f = finished
      finished = null
      if (error || !summary) f?.reject(error ?? new Error('the parse worker gave no summary'))
      else f?.resolve(summary)
    },
    onAborted() {
      const a = aborted
      aborted = null
      a?.()
    },
  })
  p.post({ op: 'begin', id, kind, format, opts })
  const close = () => {
    if (open) p.detach(id)
    open = false
  }
  /** A failed request is over: the worker forgets it (its later messages are ignored). */
  const fail = (e: Error): never => {
    if (open && p.attached(id)) p.post({ op: 'abort', id })
    close()
    throw e
  }
  const drained = async (limit: number) => {
    while (queued > limit && !failure) await new Promise<void>((r) => { waiter = r })
    if (failure) fail(failure)
  }
  return {
    async push(chunk) {
      if (!open) throw failure ?? new Error('ingestion is already over')
      await drained(maxQueuedChunks - 1)
      queued++
      p.post({ op: 'push', id, chunk })
    },
    async finish() {
      await drained(0)
      try {
        return await new Promise<ParseSummary>((resolve, reject) => {
          finished = { resolve, reject }
          p.post({ op: 'finish', id })
        })
      } finally {
        close()
      }
    },
    async abort() {
      if (!open) return
      // A worker that died has dropped the request: a new one would never answer the abort.
      if (!p.attached(id)) return close()
      try {
        await new Promise<void>((resolve) => {
          aborted = resolve
          p.post({ op: 'abort', id })
        })
      } finally {
        close()
      }
    },
  }
}
