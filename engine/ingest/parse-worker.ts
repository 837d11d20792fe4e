import { parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import { TextParser } from './ingestor.ts'
import type { Batch, ParseSummary, StoreLink } from './link.ts'
import type { ParseWorkerApi, ParseWorkerData, StoreRouter } from './parse-wire.ts'

/**
 * The parse worker: runs the parsing half (`TextParser` → `IngestSession`) of any number of
 * ingestion requests, each id's calls in order, exposed over Comlink. Its store calls (open,
 * resolveUids, write) go back to the engine thread through the StoreRouter port; encoded COPY
 * batches are transferred, not copied. Errors cross both ways with the shared transfer handler.
 */
const port = parentPort
if (!port) throw new Error('parse-worker.ts must run in a worker thread')

registerErrorTransport()
const stores = Comlink.wrap<StoreRouter>(nodeEndpoint((workerData as ParseWorkerData).storePort))

interface Session {
  parser: TextParser
  chain: Promise<unknown>
}
const sessions = new Map<number, Session>()

function remoteStore(id: number): StoreLink {
  return {
    open: () => stores.open(id),
    resolveUids: (ids) => stores.resolveUids(id, ids),
    write: (b: Batch) => stores.write(id, b.data ? Comlink.transfer(b, [b.data.buffer as ArrayBuffer]) : b),
  }
}

/** Runs `fn` after the session's earlier calls (whether they failed or not); resolves with its outcome. */
function then<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  const next = s.chain.then(fn, fn)
  s.chain = next.catch(() => {})
  return next
}

const session = (id: number): Session => {
  const s = sessions.get(id)
  if (!s) throw new Error(`the parse worker has no request ${id}`)
  return s
}

const api: ParseWorkerApi = {
  begin(id, kind, format, opts) {
    sessions.set(id, { parser: new TextParser(remoteStore(id), kind, format, opts), chain: Promise.resolve() })
  },
  push(id, chunk) {
    const s = session(id)
    return then(s, async () => {
      // Let store replies (uids, write acks) in first: queued chunks would otherwise be parsed
      // back to back in microtasks while finished batches wait for their uids.
      await new Promise<void>((r) => setImmediate(r))
      await s.parser.push(chunk)
    })
  },
  finish(id) {
    const s = session(id)
    return then(s, async (): Promise<ParseSummary> => {
      sessions.delete(id)
      return s.parser.finish()
    })
  },
  async abort(id) {
    const s = sessions.get(id)
    if (!s) return
    await then(s, async () => {
      sessions.delete(id)
      await s.parser.abort().catch(() => {})
    })
  },
}

Comlink.expose(api, nodeEndpoint(port))
