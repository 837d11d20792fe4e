import { afterAll, describe, expect, it } from 'vitest'
import { LabelsError } from '../../../shared/errors.ts'
import type { Batch, OpenInfo, StoreLink } from '../../../engine/ingest/link.ts'
import { parseInWorker, parseWorker } from '../../../engine/ingest/parse-pool.ts'

// The parse worker over Comlink, with a store of this thread that records or refuses what it is
// sent: its errors cross to the worker and back (shared/worker-errors.ts) as they were thrown.
const line = (o: object) => JSON.stringify(o) + '\n'
const opened: OpenInfo = { known: [], ticket: 1, binary: false }

function store(write: (b: Batch) => Promise<void>): StoreLink & { batches: Batch[] } {
  const batches: Batch[] = []
  return {
    batches,
    open: async () => opened,
    resolveUids: async (ids) => Int32Array.from(ids, (_, i) => i + 1),
    write: async (b) => {
      batches.push(b)
      await write(b)
    },
  }
}

afterAll(() => parseWorker.setIdleStopMs(30_000))

describe('the parse worker on Comlink', () => {
  it('parses in the worker and sends each batch to the store of this thread', async () => {
    const s = store(async () => {})
    const p = parseInWorker(s, 'users', 'ndjson', { batchSize: 2 })
    for (let i = 0; i < 5; i++) await p.push(line({ user_id: `u${i}`, properties: { n: i } }))
    const summary = await p.finish()
    expect(summary).toMatchObject({ kind: 'users', doomed: false, invalidRows: 0 })
    expect(s.batches.reduce((n, b) => n + b.rows, 0)).toBe(5)
  })

  it('brings a LabelsError thrown by the store back as a LabelsError, with its code, path and details', async () => {
    const s = store(async () => {
      throw new LabelsError('too_large', 'too many properties', '/properties', { limit: 1000 })
    })
    const p = parseInWorker(s, 'users', 'ndjson', { batchSize: 1 })
    const e = await (async () => {
      for (let i = 0; i < 40; i++) await p.push(line({ user_id: `u${i}` }))
      return p.finish()
    })().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(LabelsError)
    expect(e).toMatchObject({ code: 'too_large', status: 413, path: '/properties', details: { limit: 1000 } })
  })

  it("keeps a database error's SQLSTATE across both boundaries", async () => {
    const s = store(async () => {
      throw Object.assign(new Error('could not extend file'), { code: '53100' })
    })
    const p = parseInWorker(s, 'users', 'ndjson', { batchSize: 1 })
    const e = await (async () => {
      for (let i = 0; i < 40; i++) await p.push(line({ user_id: `u${i}` }))
      return p.finish()
    })().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(Error)
    expect(e).toMatchObject({ message: 'could not extend file', code: '53100' })
  })

  it('refuses a bad body with the row number, a LabelsError made in the worker', async () => {
    const p = parseInWorker(
      store(async () => {}),
      'users',
      'csv',
      {},
    )
    const e = await p
      .push('user_id,user_id\n')
      .then(() => p.finish())
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(LabelsError)
    expect(e).toMatchObject({ code: 'bad_request', path: '/header' })
  })
})
