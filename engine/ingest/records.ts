import type { SqlExecutor } from '../sql-executor.ts'
import { IngestSession } from './session.ts'
import { IngestStore } from './store.ts'
import type { EventRecord, IngestOptions, IngestResult, RawRecord, UserRecord } from './types.ts'

const noProperties: RawRecord['properties'] = []

/** Turns a parsed NDJSON object / API record into a raw record; shape errors become a row reason. */
export function rawFromObject(row: number, o: unknown, kind: 'users' | 'events'): RawRecord | string {
  const rec: RawRecord = { row, userId: undefined, properties: noProperties }
  return fillFromObject(rec, row, o, kind) ?? rec
}

/** Fills `rec` (reused by the caller) from a parsed object; returns why its shape is wrong, or null. */
export function fillFromObject(rec: RawRecord, row: number, o: unknown, kind: 'users' | 'events'): string | null {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'a record must be a JSON object'
  const r = o as Record<string, unknown>
  const p = r.properties
  if (p !== undefined && p !== null && (typeof p !== 'object' || Array.isArray(p)))
    return 'properties must be an object'
  rec.row = row
  rec.userId = r.user_id
  rec.json = (p ?? null) as Record<string, unknown> | null
  rec.properties = noProperties
  if (kind === 'events') {
    rec.event = r.event
    rec.time = r.time
    rec.eventId = r.event_id
  }
  return null
}

async function ingest(
  db: SqlExecutor,
  kind: 'users' | 'events',
  records: Iterable<unknown> | AsyncIterable<unknown>,
  opts: IngestOptions,
): Promise<IngestResult> {
  const store = new IngestStore(db, kind)
  const s = new IngestSession(store, kind, opts)
  try {
    let row = 0
    const one = (rec: unknown): Promise<void> | void => {
      const raw = rawFromObject(++row, rec, kind)
      if (typeof raw !== 'string') return s.add(raw)
      s.reject(row, raw)
      return undefined
    }
    // A sync iterable avoids one microtask per record (millions of them for the demo).
    if (Symbol.iterator in records) {
      for (const rec of records) {
        const p = one(rec)
        if (p) await p
      }
    } else {
      for await (const rec of records) {
        const p = one(rec)
        if (p) await p
      }
    }
    return await store.commit(await s.finish())
  } catch (e) {
    await s.abort()
    await store.abort()
    throw e
  }
}

/** Upserts users by user_id, all-or-nothing (docs/api.md#ingestion); records may be a (async) iterable. */
export function ingestUserRecords(
  db: SqlExecutor,
  records: Iterable<UserRecord> | AsyncIterable<UserRecord>,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  return ingest(db, 'users', records, opts)
}

/** Appends events (deduped by event_id), all-or-nothing (docs/api.md#ingestion); records may be a (async) iterable. */
export function ingestEventRecords(
  db: SqlExecutor,
  records: Iterable<EventRecord> | AsyncIterable<EventRecord>,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  return ingest(db, 'events', records, opts)
}
