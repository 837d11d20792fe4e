import type { Sample, SchemaDescription } from '../api.ts'

/**
 * Wire form of a sample (GET /api/data/sample, NDJSON): one `meta` line, then one `user` line
 * per user, then one `event` line per event in ingestion order. User and event lines are
 * ingestion records (docs/api.md#ingestion-records) plus `type` (which ingestion ignores), so a reader feeds them to
 * an ingestion session as they are.
 */
export interface SampleMeta {
  type: 'meta'
  /** Users in the whole workspace. */
  totalUsers: number
  sampleUsers: number
  sampleEvents: number
  seed: number
  /** Workspace time zone (IANA). */
  tz: string
  schema: SchemaDescription
}

export type SampleLineKind = 'meta' | 'user' | 'event'

/** The sample as NDJSON text, in chunks of about `chunkChars` (a stream needs no single huge string). */
export function* sampleNdjson(
  sample: Sample,
  meta: { seed: number; tz: string },
  chunkChars = 1 << 16,
): Generator<string> {
  const head: SampleMeta = {
    type: 'meta',
    totalUsers: sample.totalUsers,
    sampleUsers: sample.users.length,
    sampleEvents: sample.events.length,
    seed: meta.seed,
    tz: meta.tz,
    schema: sample.schema,
  }
  let buf = JSON.stringify(head) + '\n'
  // `type` first: readers classify a line by its prefix without parsing it (sampleLineKind).
  for (const u of sample.users) {
    buf += JSON.stringify({ type: 'user', ...u }) + '\n'
    if (buf.length >= chunkChars) {
      yield buf
      buf = ''
    }
  }
  for (const e of sample.events) {
    buf += JSON.stringify({ type: 'event', ...e }) + '\n'
    if (buf.length >= chunkChars) {
      yield buf
      buf = ''
    }
  }
  if (buf) yield buf
}

const prefixes: Array<[string, SampleLineKind]> = [
  ['{"type":"event"', 'event'],
  ['{"type":"user"', 'user'],
  ['{"type":"meta"', 'meta'],
]

/** What a sample line holds: by its prefix (as sampleNdjson writes it), else by parsing it; null if neither. */
export function sampleLineKind(text: string): SampleLineKind | null {
  for (const [p, k] of prefixes) if (text.startsWith(p)) return k
  try {
    const t = (JSON.parse(text) as { type?: unknown }).type
    return t === 'meta' || t === 'user' || t === 'event' ? t : null
  } catch {
    return null
  }
}
