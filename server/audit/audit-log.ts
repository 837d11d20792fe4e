import { createReadStream } from 'node:fs'
import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'

/** One audit record: who did what to which target, and how it ended. */
export interface AuditEntry {
  at: string
  actor: string | null
  role: string | null
  action: string
  target?: string
  status?: number
  details?: Record<string, unknown>
}

export interface AuditQuery {
  limit?: number
  action?: string
  actor?: string
  /** Only entries strictly before this ISO time (paging backwards). */
  before?: string
}

/**
 * Append-only JSONL audit log in the data directory. Each append is written and fsynced
 * before it resolves; appends are serialised so lines never interleave. Chosen over a table
 * so the audit trail survives whatever happens to the engine's database.
 */
export class AuditLog {
  private fh: FileHandle | null = null
  private tail: Promise<void> = Promise.resolve()

  constructor(readonly file: string) {}

  /** Appends one entry durably. */
  append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void> {
    const line = `${JSON.stringify({ at: entry.at ?? new Date().toISOString(), ...entry })}\n`
    const next = this.tail.then(async () => {
      if (!this.fh) {
        await mkdir(dirname(this.file), { recursive: true })
        this.fh = await open(this.file, 'a', 0o600)
      }
      await this.fh.write(line)
      await this.fh.datasync()
    })
    this.tail = next.catch(() => {})
    return next
  }

  /** The newest matching entries first, at most `limit` (default 100, max 1000). */
  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    await this.tail
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000)
    const ring: AuditEntry[] = []
    let stream
    try {
      stream = createReadStream(this.file, { encoding: 'utf8' })
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        if (!line) continue
        let e: AuditEntry
        try {
          e = JSON.parse(line) as AuditEntry
        } catch {
          continue // a torn last line after a crash: skip, never fail the read
        }
        if (q.action && e.action !== q.action && !e.action.startsWith(`${q.action}.`)) continue
        if (q.actor && e.actor !== q.actor) continue
        if (q.before && !(e.at < q.before)) continue
        ring.push(e)
        if (ring.length > limit) ring.shift()
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
    return ring.reverse()
  }

  async close(): Promise<void> {
    await this.tail
    await this.fh?.close()
    this.fh = null
  }
}
