import { badRequest } from '../../shared/errors.ts'
import type { EngineApi, IngestReport } from '../api.ts'
import { NdjsonParser } from '../ingest/ndjson-parser.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { declareSampleSchema } from './sample-schema.ts'
import { sampleLineKind, type SampleMeta } from './sample-wire.ts'

export interface SampleLoadReport {
  meta: SampleMeta
  users: number
  events: number
}

type Ingest = Pick<EngineApi, 'beginIngest' | 'pushIngest' | 'finishIngest' | 'abortIngest'>

/** Lines are handed to ingestion in pieces of about this size (one call each, across a worker boundary too). */
const PUSH_CHARS = 1 << 18

/**
 * Loads a sample in its wire form (sample-wire.ts) into an empty engine: declares its schema,
 * ingests the users, then the events in their order (so seq, and with it first/last ties,
 * follow the source). All or nothing per part; a truncated stream is refused by its counts.
 */
export async function loadSampleNdjson(
  engine: Ingest,
  db: SqlExecutor,
  chunks: AsyncIterable<string> | Iterable<string>,
): Promise<SampleLoadReport> {
  const parser = new NdjsonParser()
  let meta: SampleMeta | null = null
  let part: { kind: 'users' | 'events'; sid: string; text: string; lines: number } | null = null
  const counts = { users: 0, events: 0 }

  const flush = async () => {
    if (part && part.text) await engine.pushIngest(part.sid, part.text)
    if (part) part.text = ''
  }
  const finish = async () => {
    if (!part) return
    await flush()
    const p = part
    part = null
    check(p.kind, await engine.finishIngest(p.sid))
    counts[p.kind] = p.lines
  }
  const start = async (kind: 'users' | 'events') => {
    await finish()
    part = { kind, sid: await engine.beginIngest(kind, 'ndjson'), text: '', lines: 0 }
  }
  const line = async (text: string, n: number) => {
    const kind = sampleLineKind(text)
    if (!meta) {
      if (kind !== 'meta') throw badRequest('a sample starts with its meta line', `/${n}`)
      meta = JSON.parse(text) as SampleMeta
      await declareSampleSchema(db, meta.schema)
      await start('users')
      return
    }
    const want = kind === 'user' ? 'users' : kind === 'event' ? 'events' : null
    if (!want || (want === 'users' && part?.kind === 'events'))
      throw badRequest(`unexpected ${kind ?? 'unknown'} line in a sample`, `/${n}`)
    if (part?.kind !== want) await start(want)
    const p = part as unknown as { text: string; lines: number }
    p.text += text + '\n'
    p.lines++
    if (p.text.length >= PUSH_CHARS) await flush()
  }

  try {
    for await (const chunk of chunks) for (const l of parser.push(chunk)) await line(l.text, l.line)
    for (const l of parser.end()) await line(l.text, l.line)
    await finish()
  } catch (e) {
    const p = part as { sid: string } | null
    if (p) await engine.abortIngest(p.sid).catch(() => {})
    throw e
  }
  const m = meta as SampleMeta | null
  if (!m) throw badRequest('empty sample', '/0')
  if (counts.users !== m.sampleUsers || counts.events !== m.sampleEvents) {
    throw badRequest(
      `incomplete sample: ${counts.users}/${m.sampleUsers} users, ${counts.events}/${m.sampleEvents} events`,
    )
  }
  return { meta: m, ...counts }
}

function check(kind: string, r: IngestReport): void {
  if (r.committed && r.errors.length === 0) return
  const first = r.errors[0]
  throw badRequest(
    `the sample's ${kind} were refused${first ? ` (row ${first.row}: ${first.reason})` : ''}`,
    `/${kind}`,
  )
}
