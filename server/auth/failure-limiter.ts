/**
 * Failed logins per client address in fixed windows. The first failure of a window is
 * audited at once; later ones are only counted and summarised in one entry when the window
 * ends (at the address's next failure, or `drain`), so a flood of bad tokens writes a
 * couple of lines a minute instead of one fsynced line per request, and can't rotate the
 * real security events out of the audit files. Past `maxPerWindow` failures the address is
 * answered 429 until its window ends.
 */
export interface FailureVerdict {
  /** Audit this failure now (the first of its window). */
  audit: boolean
  /** Summary of the address's previous window, when it had unaudited failures. */
  summary: { ip: string; failures: number; from: string; to: string } | null
  /** Too many failures: answer 429, retry after this many seconds. */
  limitedFor: number | null
}

interface Window {
  start: number
  count: number
}

export class FailureLimiter {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly opts: { maxPerWindow?: number; windowMs?: number; maxAddresses?: number; now?: () => number } = {},
  ) {}

  private get windowMs(): number {
    return this.opts.windowMs ?? 60_000
  }

  /**
   * True when the address is over its limit now (checked before the token, so a limited client can't keep guessing).
   */
  limitedFor(ip: string): number | null {
    const w = this.windows.get(ip)
    if (!w || this.now() - w.start >= this.windowMs || w.count < (this.opts.maxPerWindow ?? 30)) return null
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000))
  }

  /** Records one failure of `ip`. */
  fail(ip: string): FailureVerdict {
    const now = this.now()
    let w = this.windows.get(ip)
    let summary: FailureVerdict['summary'] = null
    if (w && now - w.start >= this.windowMs) {
      if (w.count > 1)
        summary = {
          ip,
          failures: w.count - 1,
          from: new Date(w.start).toISOString(),
          to: new Date(w.start + this.windowMs).toISOString(),
        }
      this.windows.delete(ip)
      w = undefined
    }
    if (!w) {
      // Bounded memory: forget the oldest addresses (Map keeps insertion order).
      while (this.windows.size >= (this.opts.maxAddresses ?? 10_000))
        this.windows.delete(this.windows.keys().next().value as string)
      w = { start: now, count: 0 }
      this.windows.set(ip, w)
    }
    w.count++
    return { audit: w.count === 1, summary, limitedFor: this.limitedFor(ip) }
  }

  /** Summaries of every window with unaudited failures (at shutdown), and forgets them. */
  drain(): Array<NonNullable<FailureVerdict['summary']>> {
    const out = [...this.windows]
      .filter(([, w]) => w.count > 1)
      .map(([ip, w]) => ({
        ip,
        failures: w.count - 1,
        from: new Date(w.start).toISOString(),
        to: new Date(Math.min(this.now(), w.start + this.windowMs)).toISOString(),
      }))
    this.windows.clear()
    return out
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }
}
