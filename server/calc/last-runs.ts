import type { EngineApi, Run } from '../../engine/api.ts'

/**
 * The latest run of each label, kept from run status changes. On PGlite every engine read
 * waits behind a running calculation (one connection), so label lists read this instead
 * of asking the engine; labels not seen yet are fetched once and remembered.
 */
export class LastRuns {
  private readonly runs = new Map<string, Run | null>()

  constructor(private readonly engine: Pick<EngineApi, 'lastRuns'>) {}

  /** Records a run's new status (a newer run of the label replaces the older one). */
  note(run: Run): void {
    const cur = this.runs.get(run.labelId)
    if (!cur || cur.id === run.id || cur.createdAt <= run.createdAt) this.runs.set(run.labelId, run)
  }

  forget(labelId: string): void {
    this.runs.delete(labelId)
  }

  /** Latest runs of these labels; only unknown labels cost an engine call. */
  async get(labelIds: string[]): Promise<Record<string, Run | null>> {
    const missing = labelIds.filter((id) => !this.runs.has(id))
    if (missing.length) {
      const found = await this.engine.lastRuns(missing)
      for (const id of missing) if (!this.runs.has(id)) this.runs.set(id, found[id] ?? null)
    }
    return Object.fromEntries(labelIds.map((id) => [id, this.runs.get(id) ?? null]))
  }
}
