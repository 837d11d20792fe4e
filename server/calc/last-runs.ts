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
  /**
   * A label's newest runs, newest first (as GET /api/labels/:label/runs lists them), once read from the
   * engine and then kept up to date by every noted run: the label's newest runs, all of them when
   * `all` (the label has no others). A runs list is then answered without the engine, so it never waits
   * behind a calculation for a label listed before.
   */
  private readonly lists = new Map<string, { runs: Run[]; all: boolean }>()

  constructor(
    private readonly engine: Pick<EngineApi, 'lastRuns'>,
    private readonly maxRuns = 10_000,
  ) {}

  /** Records a run's new status (a newer run of the label replaces the older one). */
  note(run: Run): void {
    const cur = this.runs.get(run.labelId)
    if (!cur || cur.id === run.id || cur.createdAt <= run.createdAt) this.runs.set(run.labelId, run)
    this.remember(run)
    const list = this.lists.get(run.labelId)
    if (!list) return
    const at = list.runs.findIndex((r) => r.id === run.id)
    if (at >= 0) {
      list.runs[at] = run
      return
    }
    const pos = list.runs.findIndex((r) => newerFirst(run, r) < 0)
    // Older than every known run of an incompletely known list: it is not among the newest known ones.
    if (pos < 0 && !list.all) return
    list.runs.splice(pos < 0 ? list.runs.length : pos, 0, run)
    if (list.runs.length > MAX_LISTED) {
      list.runs.length = MAX_LISTED
      list.all = false
    }
  }

  /** The label's newest `limit` runs from memory, or undefined when they must be read from the engine. */
  listed(labelId: string, limit: number): Run[] | undefined {
    const list = this.lists.get(labelId)
    if (!list || (!list.all && list.runs.length < limit)) return undefined
    return list.runs.slice(0, limit)
  }

  /**
   * Keeps the label's newest runs as the engine listed them (asked for `limit`), with every status
   * noted since (or while the read ran) laid over them; returns what the list answers for `limit`.
   */
  keepList(labelId: string, limit: number, stored: Run[]): Run[] {
    const all = stored.length < limit
    const runs = stored.map((r) => this.byId.get(r.id) ?? r)
    const oldest = runs.at(-1)
    // Runs noted while the read ran (created after its snapshot) are newer than what it returned.
    const seen = new Set(runs.map((r) => r.id))
    for (const r of this.byId.values())
      if (r.labelId === labelId && !seen.has(r.id) && (all || !oldest || newerFirst(r, oldest) < 0)) runs.push(r)
    runs.sort(newerFirst)
    const kept = runs.slice(0, MAX_LISTED)
    this.lists.set(labelId, { runs: kept, all: all && kept.length === runs.length })
    return runs.slice(0, limit)
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
    this.lists.delete(labelId)
    for (const [id, r] of this.byId) if (r.labelId === labelId) this.byId.delete(id)
  }

  /** Runs may have changed unseen (a lost cluster connection): every label is read from the engine again. */
  clear(): void {
    this.runs.clear()
    this.lists.clear()
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

/** Runs lists keep at most this many runs per label (the route's largest limit). */
const MAX_LISTED = 500

/** The engine's order of a label's runs: newest created first, then higher id first. */
function newerFirst(a: Run, b: Run): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
}
