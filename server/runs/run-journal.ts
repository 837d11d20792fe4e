import { closeSync, existsSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import type { NewRun } from '../../engine/api.ts'

/** A run acknowledged to its trigger before its row is stored: the row to store, its id and time fixed. */
export type PendingRun = NewRun & { id: string; createdAt: string }

/**
 * Runs acknowledged before they are stored (PGlite: docs/semantics.md#runs, "One at a time per
 * label"). PGlite has one connection, and a calculation holds it: a run's row, inserted behind it,
 * would make its trigger wait for the calculation to end — then the next trigger finds that run
 * running and makes another, so triggers sent one after another never coalesce (a second
 * black-box audit, 2026-12-06: four calculate requests, four runs). So the queue answers with the
 * run's id at once and stores its row when the connection is free, and this file keeps the
 * acknowledged runs whose rows are not stored yet, flushed to disk before the answer: a kill -9 in
 * between loses none. The next start stores each as a run (server/plugins/engine.ts) before the runs a
 * crash left queued or running are failed `interrupted`, so it is failed the same way. The file
 * is emptied whenever every acknowledged run is stored.
 */
export class RunJournal {
  private readonly fd: number
  private readonly pending = new Set<string>()
  private closed = false

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a')
  }

  /** Appends the run and flushes it to disk (synchronous: before the trigger is answered). */
  record(run: PendingRun): void {
    if (this.closed) throw new Error('the run journal is closed')
    writeSync(this.fd, `${JSON.stringify(run)}\n`)
    fdatasyncSync(this.fd)
    this.pending.add(run.id)
  }

  /** The run's row is stored: once none is pending, the file is emptied. */
  settled(id: string): void {
    if (!this.pending.delete(id) || this.pending.size > 0 || this.closed) return
    ftruncateSync(this.fd, 0)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    closeSync(this.fd)
  }
}

/** The runs a journal file holds (a torn last line, from a kill mid-write, was never acknowledged). */
export function readPendingRuns(file: string): PendingRun[] {
  if (!existsSync(file)) return []
  const out: PendingRun[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue
    try {
      const r = JSON.parse(line) as PendingRun
      if (typeof r.id === 'string' && typeof r.labelId === 'string') out.push(r)
    } catch {
      // the torn last line
    }
  }
  return out
}
