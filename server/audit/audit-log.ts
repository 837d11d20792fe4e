import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { LabelsError } from '../../shared/errors.ts'

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

export interface AuditLogOptions {
  /** Rotate before the live file would grow past this many bytes (default 50 MiB). */
  maxBytes?: number | undefined
  /** Rotated files kept, `audit.1.jsonl` the newest (default 5, at least 1). */
  keep?: number | undefined
  /** Entries waiting to be written before new ones are refused (default 10 000; `auth.*` entries get twice that). */
  maxPending?: number | undefined
}

interface Pending {
  line: Buffer
  resolve: () => void
  reject: (e: unknown) => void
}

export const DEFAULT_AUDIT_MAX_BYTES = 50 * 1024 * 1024
export const DEFAULT_AUDIT_KEEP = 5

/**
 * Append-only JSONL audit log in the data directory. Each append is written and fsynced
 * before it resolves; appends are serialised so lines never interleave. Chosen over a table
 * so the audit trail survives whatever happens to the engine's database.
 *
 * Rotation (`audit.jsonl` → `audit.1.jsonl` → … → `audit.<keep>.jsonl`, the oldest dropped)
 * runs in the same serial chain as the appends, between two whole lines: an entry that
 * arrives meanwhile waits and lands in the new file, so none is lost, split or written twice.
 */
export class AuditLog {
  private fh: FileHandle | null = null
  /** Bytes in the live file (valid while fh is open). */
  private size = 0
  private tail: Promise<void> = Promise.resolve()
  /** close() was called: an entry appended later (a request or an edit ending during shutdown) is still written, and the file closed after it. */
  private closed = false
  /** Entries waiting for the next write; appends made while one is written share the next one. */
  private batch: Pending[] | null = null
  private queued = 0
  /** Entries refused because too many were waiting (a flood, or a stalled disk). */
  dropped = 0
  readonly maxBytes: number
  readonly keep: number
  readonly maxPending: number

  constructor(
    readonly file: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_AUDIT_MAX_BYTES
    this.keep = opts.keep ?? DEFAULT_AUDIT_KEEP
    this.maxPending = opts.maxPending ?? 10_000
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 1)
      throw new Error(`audit maxBytes=${opts.maxBytes} must be a positive integer`)
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new Error(`audit keep=${opts.keep} must be an integer ≥ 1`)
  }

  /** Path of rotated file n (1 = newest); 0 is the live file. */
  rotatedPath(n: number): string {
    if (n === 0) return this.file
    const ext = extname(this.file)
    return join(dirname(this.file), `${basename(this.file, ext)}.${n}${ext}`)
  }

  /**
   * Appends one entry durably: resolves once it is written and fsynced. Entries that arrive
   * while a write runs are written together by the next one (one fsync for the group), and
   * past `maxPending` waiting entries an append is refused at once (503) rather than queued
   * without bound; security (`auth.*`) entries have twice the room, so noise can't crowd them out.
   */
  append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void> {
    const room = entry.action.startsWith('auth.') ? 2 * this.maxPending : this.maxPending
    if (this.queued >= room) {
      this.dropped++
      return Promise.reject(
        new LabelsError('unavailable', `the audit log has ${this.queued} entries waiting to be written; entry refused`),
      )
    }
    const line = Buffer.from(`${JSON.stringify({ at: entry.at ?? new Date().toISOString(), ...entry })}\n`)
    this.queued++
    return new Promise<void>((resolve, reject) => {
      if (!this.batch) {
        const batch: Pending[] = []
        this.batch = batch
        this.serially(async () => {
          this.batch = null // appends from now on form the next group
          try {
            await this.writeLines(batch.map((b) => b.line))
          } finally {
            // After close() nobody closes the live file again: never leave it open (a leaked descriptor).
            if (this.closed) await this.closeLive()
          }
        })
          .then(
            () => batch.forEach((b) => b.resolve()),
            (e: unknown) => batch.forEach((b) => b.reject(e)),
          )
          .finally(() => {
            this.queued -= batch.length
          })
      }
      this.batch.push({ line, resolve, reject })
    })
  }

  /** Writes whole lines, rotating between two lines when the live file would pass maxBytes; fsyncs each file written. */
  private async writeLines(lines: Buffer[]): Promise<void> {
    let fh = await this.openLive()
    let chunk: Buffer[] = []
    let chunkBytes = 0
    const flush = async () => {
      if (chunk.length === 0) return
      await fh.write(Buffer.concat(chunk, chunkBytes))
      this.size += chunkBytes
      await fh.datasync()
      chunk = []
      chunkBytes = 0
    }
    for (const line of lines) {
      // A line longer than the limit still gets a file of its own rather than being refused.
      if (this.size + chunkBytes > 0 && this.size + chunkBytes + line.byteLength > this.maxBytes) {
        await flush()
        fh = await this.rotate()
      }
      chunk.push(line)
      chunkBytes += line.byteLength
    }
    await flush()
  }

  /** Runs `fn` after every earlier append/rotation; a failure doesn't block later ones. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn)
    this.tail = next.then(
      () => {},
      () => {},
    )
    return next
  }

  private async openLive(): Promise<FileHandle> {
    if (this.fh) return this.fh
    await mkdir(dirname(this.file), { recursive: true })
    const fh = await open(this.file, 'a+', 0o600)
    try {
      let size = (await fh.stat()).size
      if (size > 0) {
        // A torn last line after a crash: end it, or the next entry would be glued to it and lost.
        const last = Buffer.alloc(1)
        await fh.read(last, 0, 1, size - 1)
        if (last[0] !== 0x0a) {
          await fh.write('\n')
          size++
        }
      }
      this.size = size
    } catch (e) {
      await fh.close()
      throw e
    }
    this.fh = fh
    return fh
  }

  /** Shifts the files up by one (dropping the oldest) and opens a fresh live file. */
  private async rotate(): Promise<FileHandle> {
    await this.fh?.close()
    this.fh = null
    await rm(this.rotatedPath(this.keep), { force: true })
    await this.dropBeyondKeep()
    // Oldest first, so a crash half-way leaves a gap in the numbers but every file in order.
    for (let n = this.keep - 1; n >= 0; n--) {
      try {
        await rename(this.rotatedPath(n), this.rotatedPath(n + 1))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
    }
    await this.syncDir()
    return this.openLive()
  }

  /** Files numbered above `keep`, left when the setting was lowered, are deleted at a rotation. */
  private async dropBeyondKeep(): Promise<void> {
    const ext = extname(this.file)
    const base = basename(this.file, ext)
    for (const name of await readdir(dirname(this.file))) {
      if (!name.startsWith(`${base}.`) || !name.endsWith(ext)) continue
      const n = name.slice(base.length + 1, name.length - ext.length)
      if (/^\d+$/.test(n) && Number(n) > this.keep) await rm(join(dirname(this.file), name), { force: true })
    }
  }

  private async syncDir(): Promise<void> {
    const dir = await open(dirname(this.file), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }

  /**
   * The newest matching entries first, at most `limit` (default 100, max 1000), across the
   * rotated files. The files are opened between two appends, so a rotation that happens while
   * they are read neither hides nor repeats an entry.
   */
  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000)
    const files = await this.serially(() => this.openAll())
    const ring: AuditEntry[] = []
    try {
      for (const { fh, size } of files) {
        if (size === 0) continue
        const input = fh.createReadStream({ encoding: 'utf8', start: 0, end: size - 1, autoClose: false })
        for await (const line of createInterface({ input, crlfDelay: Infinity })) {
          if (!line) continue
          let e: AuditEntry
          try {
            e = JSON.parse(line) as AuditEntry
          } catch {
            continue // a torn line after a crash: skip, never fail the read
          }
          if (q.action && e.action !== q.action && !e.action.startsWith(`${q.action}.`)) continue
          if (q.actor && e.actor !== q.actor) continue
          if (q.before && !(e.at < q.before)) continue
          ring.push(e)
          if (ring.length > limit) ring.shift()
        }
      }
    } finally {
      await Promise.all(files.map((f) => f.fh.close()))
    }
    return ring.reverse()
  }

  /** Every existing file, oldest first, with its size now (only whole lines: no append is running). */
  private async openAll(): Promise<Array<{ fh: FileHandle; size: number }>> {
    const out: Array<{ fh: FileHandle; size: number }> = []
    try {
      for (let n = this.keep; n >= 0; n--) {
        let fh: FileHandle
        try {
          fh = await open(this.rotatedPath(n), 'r')
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
          throw e
        }
        out.push({ fh, size: 0 })
        out[out.length - 1]!.size = (await fh.stat()).size
      }
    } catch (e) {
      await Promise.all(out.map((f) => f.fh.close()))
      throw e
    }
    return out
  }

  async close(): Promise<void> {
    this.closed = true
    await this.tail
    await this.closeLive()
  }

  private async closeLive(): Promise<void> {
    const fh = this.fh
    this.fh = null
    await fh?.close()
  }
}
