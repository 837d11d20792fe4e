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
  private readonly lists = new Map<string, { runs: Run[]; all: boolean; cap: number }>()

  constructor(
    private readonly engine: Pick<EngineApi, 'lastRuns' | 'listRunsOf'>,
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
    // A list keeps as many runs as it was read for (at least the route's default): new runs don't grow it for ever.
    if (list.runs.length > list.cap) {
      list.runs.length = list.cap
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
    const cap = Math.min(MAX_LISTED, Math.max(DEFAULT_LIMIT, limit, this.lists.get(labelId)?.cap ?? 0))
    const kept = runs.slice(0, cap)
    this.lists.set(labelId, { runs: kept, all: all && kept.length === runs.length, cap })
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

  /**
   * At start: every label's latest run, and its runs list, so that neither a label list nor a runs
   * list waits behind a calculation (on PGlite it holds the only connection). Each label's newest
   * runs are kept up to `perLabel` (the route's default limit), fewer when there are so many labels
   * that `budget` runs in all would be passed; a label with fewer runs than that is known whole, so
   * any limit is answered from memory. One engine statement.
   */
  async load(labelIds: string[], perLabel = DEFAULT_LIMIT, budget = LOAD_BUDGET): Promise<void> {
    if (labelIds.length === 0) return
    const limit = Math.max(1, Math.min(perLabel, Math.floor(budget / labelIds.length)))
    const found = await this.engine.listRunsOf(labelIds, limit)
    for (const id of labelIds) {
      const stored = found[id] ?? []
      if (!this.runs.has(id)) this.runs.set(id, stored[0] ?? null)
      this.keepList(id, limit, stored)
    }
  }

  /**
   * A label just created (its id is new; a deleted label's runs are deleted with it) has no runs
   * but those noted from now on: its runs list is known whole without asking the engine. (Its
   * latest run is left to `get`: a label list read between the creation and the first run's
   * note then shows that run, read from the engine, rather than none.)
   */
  created(labelId: string): void {
    if (!this.lists.has(labelId)) this.keepList(labelId, DEFAULT_LIMIT, [])
  }

  /** Latest runs of these labels; only unknown labels cost an engine call. */
  async get(labelIds: string[]): Promise<Record<string, Run | null>> {
    const missing = labelIds.filter((id) => !this.runs.has(id))
    if (missing.length) {
      const found = await this.engine.lastRuns(missing)
      for (const id of missing) {
        if (!this.runs.has(id)) this.runs.set(id, found[id] ?? null)
        // No run stored: every run of the label from now on is noted, so its list is known whole.
        if (!found[id] && !this.lists.has(id)) this.keepList(id, DEFAULT_LIMIT, [])
      }
    }
    return Object.fromEntries(labelIds.map((id) => [id, this.runs.get(id) ?? null]))
  }
}

/** The runs route's default limit. */
const DEFAULT_LIMIT = 50
/** At most this many runs are read into memory at start (about 0.5 kB each). */
const LOAD_BUDGET = 50_000

/** Runs lists keep at most this many runs per label (the route's largest limit). */
const MAX_LISTED = 500

/** The engine's order of a label's runs: newest created first, then higher id first. */
function newerFirst(a: Run, b: Run): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
}
