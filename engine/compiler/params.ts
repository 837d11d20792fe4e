/**
 * Collects bind parameters while SQL text is built. Every value enters the statement as
 * `$n::type`: the explicit cast makes the statement's types independent of the driver's
 * parameter type inference (pg sends text, PGlite infers), so both engines agree.
 */
export class Params {
  readonly values: unknown[] = []
  private readonly shared = new Map<string, string>()

  /** Binds a value and returns its placeholder with a cast. */
  add(value: unknown, sqlType: string): string {
    this.values.push(value)
    return `$${this.values.length}::${sqlType}`
  }

  /** Binds a value once under a key (time zone, asOf) and reuses its placeholder. */
  once(key: string, value: unknown, sqlType: string): string {
    let ref = this.shared.get(key)
    if (ref === undefined) {
      ref = this.add(value, sqlType)
      this.shared.set(key, ref)
    }
    return ref
  }
}
