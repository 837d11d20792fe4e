import type { Distribution } from '../api.ts'

/**
 * Distributions of finished runs, keyed by run id and resolved query. A run's results never
 * change after its swap, so an entry can't go stale; a new run has a new id. Bounded, least
 * recently used first out. Dashboards and the live channel ask for the same few queries of
 * a 1M-user label over and over (0.6 s on PostgreSQL, 1.8 s on PGlite each without this).
 */
export class DistributionCache {
  private readonly entries = new Map<string, Distribution>()
  constructor(private readonly max = 256) {}

  /** The cached distribution (deeply frozen: shared by every reader), or undefined. */
  get(key: string): Distribution | undefined {
    const d = this.entries.get(key)
    if (!d) return undefined
    this.entries.delete(key)
    this.entries.set(key, d)
    return d
  }

  set(key: string, d: Distribution): void {
    this.entries.delete(key)
    this.entries.set(key, deepFreeze(structuredClone(d)))
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string)
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const x of Object.values(v)) deepFreeze(x)
  }
  return v
}
