import { invalid } from '../../shared/errors.ts'
import { ruleLimits as limits } from '../../shared/limits.ts'

/**
 * JSON nesting a valid definition can reach: /rule/values/i/when (4) + two levels per
 * all/any (object + array) + a filter's /where/i/value/j (4), with room to spare.
 */
const maxJsonDepth = 2 * limits.conditionDepth + 24

/**
 * Rejects absurdly nested JSON before the recursive schema validator sees it: a body of
 * 20 000 nested `{"not":` would otherwise overflow the stack (a 500 instead of a 422).
 * Iterative on purpose.
 */
export function guardDepth(value: unknown): void {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: '', depth: 0 }]
  while (stack.length) {
    const { v, path, depth } = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth > maxJsonDepth)
      throw invalid(
        `the definition nests too deeply (conditions nest at most ${limits.conditionDepth} levels)`,
        path || '/',
      )
    for (const [k, child] of Object.entries(v)) stack.push({ v: child, path: `${path}/${k}`, depth: depth + 1 })
  }
}
