import type { MessagePort, Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import type { Batch, StoreLink } from './link.ts'
import type { BodyParser, ParseWorkerApi, ParseWorkerData, StoreRouter } from './parse-wire.ts'
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

/** One running worker: its Comlink remote, the port its store calls come in on, and its calls in flight. */
interface Running {
  worker: Worker
  remote: Comlink.Remote<ParseWorkerApi>
  storePort: MessagePort
  /** Rejecters of the calls in flight: a worker that stops (crash, exit) fails them, so none hangs. */
  pending: Set<(e: Error) => void>
}

/** A request's side of the pool: its store, and what to do when the worker dies under it. */
interface Client {
  store: StoreLink
  onDeath(error: Error): void
}

/**
 * One parse worker thread shared by every request of this process, started on first use and
 * stopped after 30 s without requests. It is referenced only while a request uses it, so it
 * never keeps the process alive; if it dies, its requests fail and the next one starts anew.
 * Calls go over Comlink both ways: requests to the worker (`ParseWorkerApi`), store calls
 * back to this thread (`StoreRouter`, on a MessagePort of its own).
 */
class ParsePool {
  private running: Running | null = null
  private readonly clients = new Map<number, Client>()
  private nextId = 0
  private idle: ReturnType<typeof setTimeout> | null = null

  /** Whether the running worker knows this request (not after it died: its requests are dropped). */
  attached(id: number): boolean {
    return this.clients.has(id)
  }

  get isRunning(): boolean {
    return this.running !== null
  }

  /** Stops the worker as a crash would (tests): its requests fail. */
  async crash(): Promise<void> {
    await this.running?.worker.terminate()
  }

  attach(client: Client): number {
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
    const id = ++this.nextId
    this.clients.set(id, client)
    this.ensure().worker.ref()
    return id
  }

  detach(id: number): void {
    this.clients.delete(id)
    if (this.clients.size > 0) return
    this.running?.worker.unref()
    // An idle worker gives its heap back: it is stopped after a while without requests.
    if (this.idle) clearTimeout(this.idle)
    this.idle = setTimeout(() => {
      const r = this.running
      if (!r || this.clients.size > 0) return
      this.running = null
      r.storePort.close()
      void r.worker.terminate()
    }, idleStopMs)
    this.idle.unref()
  }

  /** A call to the worker that fails, rather than hangs, when the worker dies first. */
  call<T>(fn: (remote: Comlink.Remote<ParseWorkerApi>) => Promise<T>): Promise<T> {
    const r = this.ensure()
    return new Promise<T>((resolve, reject) => {
      r.pending.add(reject)
      fn(r.remote)
        .then(resolve, reject)
        .finally(() => r.pending.delete(reject))
    })
  }

  private ensure(): Running {
    if (this.running) return this.running
    registerErrorTransport()
    // worker_threads is looked up when first needed, not imported: the browser bundle reaches this
    // module (through EngineService) and must not touch a Node module when it loads.
    const { Worker: NodeWorker, MessageChannel } = process.getBuiltinModule('node:worker_threads')
    const { port1, port2 } = new MessageChannel()
    const workerData: ParseWorkerData = { storePort: port2 }
    // A larger young generation: parsing allocates a short-lived object per row, and fewer
    // scavenges measured faster.
    const w = new NodeWorker(new URL(bootFile, import.meta.url), {
      workerData,
      transferList: [port2],
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    })
    Comlink.expose(this.router(), nodeEndpoint(port1))
    port1.unref() // the store port never keeps the process alive; the worker's ref does while requests run
    const r: Running = {
      worker: w,
      remote: Comlink.wrap<ParseWorkerApi>(nodeEndpoint(w)),
      storePort: port1,
      pending: new Set(),
    }
    const fail = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(`the parse worker stopped (${String(e)})`)
      for (const reject of r.pending) reject(err)
      r.pending.clear()
      if (this.running !== r) return
      this.running = null
      port1.close()
      for (const [id, c] of this.clients) {
        this.clients.delete(id)
        c.onDeath(err)
      }
    }
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`the parse worker exited with code ${code}`)))
    w.unref()
    this.running = r
    return r
  }

  /** The store calls of the worker, routed to each request's store. */
  private router(): StoreRouter {
    const store = (id: number): StoreLink => {
      const c = this.clients.get(id)
      if (!c) throw new Error(`ingestion request ${id} is over`)
      return c.store
    }
    return {
      open: async (id) => store(id).open(),
      resolveUids: async (id, ids) => store(id).resolveUids(ids),
      write: async (id, batch: Batch) => store(id).write(batch),
    }
  }
}

let pool: ParsePool | null = null

/** Whether the parse worker thread is running now; (tests) how long it may stay idle, and a simulated crash. */
export const parseWorker = {
  running: (): boolean => pool?.isRunning ?? false,
  crash: async (): Promise<void> => pool?.crash(),
  setIdleStopMs(ms: number): void {
    idleStopMs = ms
  },
}

/** The parsing half of one request, run in the shared parse worker; store calls come back to `store`. */
export function parseInWorker(
  store: StoreLink,
  kind: IngestKind,
  format: IngestFormat,
  opts: IngestOptions,
): BodyParser {
  pool ??= new ParsePool()
  const p = pool
  let queued = 0
  let failure: Error | null = null
  let waiter: (() => void) | null = null
  let open = true
  const wake = () => {
    const w = waiter
    waiter = null
    w?.()
  }
  const failWith = (e: unknown) => {
    failure ??= e instanceof Error ? e : new Error(String(e))
    wake()
  }
  const id = p.attach({ store, onDeath: failWith })
  void p.call((r) => r.begin(id, kind, format, opts)).catch(failWith)
  const close = () => {
    if (open) p.detach(id)
    open = false
  }
  /** A failed request is over: the worker forgets it. */
  const fail = (e: Error): never => {
    if (open && p.attached(id)) void p.call((r) => r.abort(id)).catch(() => {})
    close()
    throw e
  }
  const drained = async (limit: number) => {
    while (queued > limit && !failure)
      await new Promise<void>((r) => {
        waiter = r
      })
    if (failure) fail(failure)
  }
  return {
    async push(chunk) {
      if (!open) throw failure ?? new Error('ingestion is already over')
      await drained(maxQueuedChunks - 1)
      queued++
      p.call((r) => r.push(id, chunk)).then(
        () => {
          queued--
          wake()
        },
        (e: unknown) => {
          queued--
          failWith(e)
        },
      )
    },
    async finish() {
      await drained(0)
      try {
        return await p.call((r) => r.finish(id))
      } finally {
        close()
      }
    },
    async abort() {
      if (!open) return
      // A worker that died has dropped the request: a new one would never know it.
      if (!p.attached(id)) return close()
      try {
        await p.call((r) => r.abort(id)).catch(() => {})
      } finally {
        close()
      }
    },
  }
}
