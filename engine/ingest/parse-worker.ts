import { parentPort } from 'node:worker_threads'
import { TextParser } from './ingestor.ts'
import type { Batch, OpenInfo, StoreLink } from './link.ts'
import { toWire, type FromParser, type ToParser } from './parse-wire.ts'

/**
 * The parse worker: runs the parsing half (`TextParser` → `IngestSession`) of any number of
 * ingestion requests, each id's messages in order. Its store calls (open, resolveUids, write)
 * go back to the engine thread; encoded COPY batches are transferred, not copied.
 */
const port = parentPort
if (!port) throw new Error('parse-worker.ts must run in a worker thread')

interface Session { parser: TextParser; chain: Promise<void> }
const sessions = new Map<number, Session>()
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
let nextCall = 0

const send = (m: FromParser, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

function remoteStore(id: number): StoreLink {
  const call = <T>(method: 'open' | 'resolveUids' | 'write', arg?: unknown, transfer: ArrayBuffer[] = []): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const n = ++nextCall
      calls.set(n, { resolve: resolve as (v: unknown) => void, reject })
      send({ op: 'call', id, call: n, method, arg }, transfer)
    })
  return {
    open: () => call<OpenInfo>('open'),
    resolveUids: (ids) => call<Int32Array>('resolveUids', ids),
    write: (b: Batch) => call<void>('write', b, b.data ? [b.data.buffer as ArrayBuffer] : []),
  }
}

/** Runs `fn` after the session's earlier messages. */
function then(s: Session, fn: () => Promise<void>): void {
  s.chain = s.chain.then(fn, fn)
}

port.on('message', (m: ToParser) => {
  if (m.op === 'reply') {
    const c = calls.get(m.call)
    calls.delete(m.call)
    if (!c) return
    if (m.error) c.reject(Object.assign(new Error(m.error.message), m.error, { wire: m.error }))
    else c.resolve(m.value)
    return
  }
  if (m.op === 'begin') {
    sessions.set(m.id, { parser: new TextParser(remoteStore(m.id), m.kind, m.format, m.opts), chain: Promise.resolve() })
    return
  }
  const s = sessions.get(m.id)
  if (!s) return
  if (m.op === 'push') {
    then(s, async () => {
      // Let store replies (uids, write acks) in first: queued chunks would otherwise be parsed
      // back to back in microtasks while finished batches wait for their uids.
      await new Promise<void>((r) => setImmediate(r))
      try {
        await s.parser.push(m.chunk)
        send({ op: 'pushed', id: m.id })
      } catch (e) {
        send({ op: 'pushed', id: m.id, error: wire(e) })
      }
    })
  } else if (m.op === 'finish') {
    then(s, async () => {
      sessions.delete(m.id)
      try {
        send({ op: 'finished', id: m.id, summary: await s.parser.finish() })
      } catch (e) {
        send({ op: 'finished', id: m.id, error: wire(e) })
      }
    })
  } else if (m.op === 'abort') {
    then(s, async () => {
      sessions.delete(m.id)
      await s.parser.abort().catch(() => {})
      send({ op: 'aborted', id: m.id })
    })
  }
})

/** A store error comes back as it came (its wire form); others are serialised here. */
function wire(e: unknown) {
  return (e as { wire?: ReturnType<typeof toWire> }).wire ?? toWire(e)
}
