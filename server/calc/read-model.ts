import type {
  Distribution,
  DistributionQuery,
  EngineApi,
  HistoryDay,
  HistoryQuery,
  HistoryResult,
  LabelReadModel,
  ResultSummary,
  RunResults,
} from '../../engine/api.ts'
import { historyFromDays, withDay } from '../../engine/read/read-model.ts'
import { distributionFromSummary } from '../../engine/read/result-summary.ts'

interface Entry {
  summary: ResultSummary | null
  /** null: too many history rows to keep; read from the engine. */
  history: HistoryDay[] | null
  /** Raised by every change, so a refresh that started before one is dropped. */
  gen: number
}

/**
 * What result reads need, in server memory (issue 12: reads must not wait behind
 * calculations). Loaded from the engine at start (`readModels`), then kept current by the
 * run queue: a run's commit hands back its result summary and history day
 * (`executeRunWithResults`), which replace the label's entry before anyone hears of the
 * success. Distribution and history reads are answered from here without touching the
 * engine (on PGlite a calculation holds its one connection for seconds to minutes). Imports,
 * which finish outside the queue, refresh the label from the engine; reads of that label wait
 * for the refresh.
 */
export class ReadModel {
  private readonly labels = new Map<string, Entry>()
  private readonly refreshing = new Map<string, Promise<void>>()
  private loaded = false
  private gen = 0

  constructor(private readonly engine: Pick<EngineApi, 'readModels'>) {}

  /** True once loaded: reads can be answered here (an engine without readModels never is). */
  get ready(): boolean {
    return this.loaded
  }

  async load(): Promise<void> {
    if (!this.engine.readModels) return
    const models = await this.engine.readModels(null)
    for (const m of models) this.put(m)
    this.loaded = true
  }

  /** A run (or import) committed these results: they replace the label's summary and that day's history. */
  apply(results: RunResults): void {
    const id = results.summary.labelId
    const cur = this.labels.get(id)
    // The run counted the label's other days again (history-buckets.ts ensureBuckets): read them all.
    if (results.day.rewroteDays) {
      this.labels.set(id, { summary: results.summary, history: null, gen: ++this.gen })
      void this.refresh(id).catch(() => {})
      return
    }
    const history = cur ? (cur.history ? withDay(cur.history, results.day) : null) : withDay([], results.day)
    this.labels.set(id, { summary: results.summary, history, gen: ++this.gen })
  }

  /** A backfill wrote a history day (the label's results are unchanged). */
  applyDay(labelId: string, day: HistoryDay): void {
    const cur = this.labels.get(labelId)
    if (day.rewroteDays) {
      this.labels.set(labelId, { summary: cur?.summary ?? null, history: null, gen: ++this.gen })
      void this.refresh(labelId).catch(() => {})
      return
    }
    if (cur && !cur.history) return
    this.labels.set(labelId, {
      summary: cur?.summary ?? null,
      history: withDay(cur?.history ?? [], day),
      gen: ++this.gen,
    })
  }

  /** Re-reads the label from the engine (an import replaced its results); reads of it wait for this. */
  refresh(labelId: string): Promise<void> {
    if (!this.engine.readModels || !this.loaded) return Promise.resolve()
    const gen = ++this.gen
    this.labels.set(labelId, { summary: null, history: [], gen })
    const p = this.engine.readModels([labelId]).then(
      (models) => {
        const m = models.find((x) => x.labelId === labelId)
        if (this.labels.get(labelId)?.gen === gen) this.put(m ?? { labelId, summary: null, history: [] })
      },
      () => {
        // Unknown state: read this label from the engine until it changes again.
        if (this.labels.get(labelId)?.gen === gen)
          this.labels.set(labelId, { summary: null, history: null, gen: ++this.gen })
      },
    )
    const done = p.finally(() => {
      if (this.refreshing.get(labelId) === done) this.refreshing.delete(labelId)
    })
    this.refreshing.set(labelId, done)
    return done
  }

  /** The refresh a read of this label must wait for, if any. */
  pending(labelId: string): Promise<void> | undefined {
    return this.refreshing.get(labelId)
  }

  /** The label's results are gone (label deleted). */
  forget(labelId: string): void {
    this.labels.delete(labelId)
    this.refreshing.delete(labelId)
    ++this.gen
  }

  /**
   * The distribution from memory: the distribution, null when the label has no results, or
   * undefined when memory can't answer (not loaded, a refresh pending, a query only the
   * database answers, history beyond the kept size).
   */
  distribution(labelId: string, query: DistributionQuery): Distribution | null | undefined {
    if (!this.loaded || this.refreshing.has(labelId)) return undefined
    const e = this.labels.get(labelId)
    if (!e) return null
    if (!e.summary) return e.history === null ? undefined : null
    return distributionFromSummary(e.summary, query) ?? undefined
  }

  /** The history from memory, or undefined when memory can't answer. */
  history(labelId: string, query: HistoryQuery): HistoryResult | undefined {
    if (!this.loaded || this.refreshing.has(labelId)) return undefined
    const e = this.labels.get(labelId)
    if (!e) return historyFromDays(labelId, [], query)
    return e.history ? historyFromDays(labelId, e.history, query) : undefined
  }

  private put(m: LabelReadModel): void {
    this.labels.set(m.labelId, { summary: m.summary, history: m.history, gen: ++this.gen })
  }
}
