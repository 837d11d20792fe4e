import type { SqlExecutor } from '../sql-executor.ts'
import { IngestSession } from './session.ts'
import type { EventRecord, IngestOptions, IngestResult, RawRecord, UserRecord } from './types.ts'

const noProperties: RawRecord['properties'] = []

/** Turns a parsed NDJSON object / API record into a raw record; shape errors become a row reason. */
export function rawFromObject(row: number, o: unknown, kind: 'users' | 'events'): RawRecord | string {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'a record must be a JSON object'
  const r = o as Record<string, unknown>
  const p = r.properties
  if (p !== undefined && p !== null && (typeof p !== 'object' || Array.isArray(p))) return 'properties must be an object'
  const json = (p ?? null) as Record<string, unknown> | null
  return kind === 'users'
    ? { row, userId: r.user_id, properties: noProperties, json }
    : { row, userId: r.user_id, event: r.event, time: r.time, eventId: r.event_id, properties: noProperties, json }
}

async function ingest(db: SqlExecutor, kind: 'users' | 'events', records: Iterable<unknown> | AsyncIterable<unknown>, opts: IngestOptions): Promise<IngestResult> {
  const s = new IngestSession(db, kind, opts)
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
  } catch (e) {
    await s.abort()
    throw e
  }
  return s.finish()
}

/** Upserts users by user_id, all-or-nothing (SPEC §8); records may be a (async) iterable. */
export function ingestUserRecords(db: SqlExecutor, records: Iterable<UserRecord> | AsyncIterable<UserRecord>, opts: IngestOptions = {}): Promise<IngestResult> {
  return ingest(db, 'users', records, opts)
}

/** Appends events (deduped by event_id), all-or-nothing (SPEC §8); records may be a (async) iterable. */
export function ingestEventRecords(db: SqlExecutor, records: Iterable<EventRecord> | AsyncIterable<EventRecord>, opts: IngestOptions = {}): Promise<IngestResult> {
  return ingest(db, 'events', records, opts)
}
