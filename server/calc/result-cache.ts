/**
 * Recent reads of a label's results (distributions), kept on the main thread so a dashboard
 * read doesn't cross to the engine worker at all. A run that succeeds (or an import) drops
 * the label's entries; a read that started before such a drop is not stored (generation
 * check). The TTL bounds staleness if another process shares the database.
 */
export class ResultCache<T> {
  private readonly labels = new Map<string, { gen: number; entries: Map<string, { at: number; value: T }> }>()
  /** Generations come from one counter, so a label forgotten and read again never reuses one. */
  private counter = 0
  /** The generation of labels without a record; raised by `forget`. */
  private floor = 0

  constructor(private readonly opts: { ttlMs?: number; maxPerLabel?: number; now?: () => number } = {}) {}

  /** The label's generation; pass it back to `set` so a read older than an invalidation is dropped. */
  generation(labelId: string): number {
    return this.labels.get(labelId)?.gen ?? this.floor
  }

  /** Labels holding a record (tests, diagnostics). */
  size(): number {
    return this.labels.size
  }

  get(labelId: string, key: string): T | undefined {
    const e = this.labels.get(labelId)?.entries.get(key)
    if (!e) return undefined
    if (this.now() - e.at > (this.opts.ttlMs ?? 5_000)) {
      this.labels.get(labelId)?.entries.delete(key)
      return undefined
    }
    return e.value
  }

  set(labelId: string, key: string, value: T, gen: number): void {
    let l = this.labels.get(labelId)
    if (!l) {
      if (gen !== this.floor) return // a read older than a forget
      this.labels.set(labelId, (l = { gen, entries: new Map() }))
    }
    if (l.gen !== gen) return
    l.entries.delete(key)
    l.entries.set(key, { at: this.now(), value })
    while (l.entries.size > (this.opts.maxPerLabel ?? 32)) l.entries.delete(l.entries.keys().next().value as string)
  }

  /** The label's results changed (run succeeded, import): forget what was read. */
  invalidate(labelId: string): void {
    const l = this.labels.get(labelId)
    if (l) {
      l.gen = ++this.counter
      l.entries.clear()
    } else this.labels.set(labelId, { gen: ++this.counter, entries: new Map() })
  }

  /** The label is gone: drop its record entirely (a deleted label must not hold memory), and refuse reads that began before. */
  forget(labelId: string): void {
    this.labels.delete(labelId)
    this.floor = ++this.counter
  }

  /** Every label's results may have changed unseen (a lost cluster connection): forget all, refuse reads that began before. */
  forgetAll(): void {
    this.labels.clear()
    this.floor = ++this.counter
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }
}
