import type { EngineApi, Run } from '../../engine/api.ts'

/**
 * The latest run of each label, and recent runs by id, kept from run status changes. On PGlite every engine read
 * waits behind a running calculation (one connection), so label lists read this instead
 * of asking the engine; labels not seen yet are fetched once and remembered.
 */
export class LastRuns {
  private readonly runs = new Map<string, Run | null>()
  /** Runs by id as last reported (every status change since start, runs read once), least recently noted first out. */
  private readonly byId = new Map<string, Run>()

  constructor(
    private readonly engine: Pick<EngineApi, 'lastRuns'>,
    private readonly maxRuns = 10_000,
  ) {}

  /** Records a run's new status (a newer run of the label replaces the older one). */
  note(run: Run): void {
    const cur = this.runs.get(run.labelId)
    if (!cur || cur.id === run.id || cur.createdAt <= run.createdAt) this.runs.set(run.labelId, run)
    this.remember(run)
  }

  /** Keeps a run for GET /api/runs/:id (a run read from the engine, or noted). */
  remember(run: Run): void {
    this.byId.delete(run.id)
    this.byId.set(run.id, run)
    while (this.byId.size > this.maxRuns) this.byId.delete(this.byId.keys().next().value as string)
  }

  /** A run as last reported, from memory (GET /api/runs/:id never waits for a calculation for it). */
  run(runId: string): Run | undefined {
    return this.byId.get(runId)
  }

  forget(labelId: string): void {
    this.runs.delete(labelId)
    for (const [id, r] of this.byId) if (r.labelId === labelId) this.byId.delete(id)
  }

  /** Runs may have changed unseen (a lost cluster connection): every label is read from the engine again. */
  clear(): void {
    this.runs.clear()
    this.byId.clear()
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
