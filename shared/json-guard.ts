/**
 * Checks a parsed JSON value before schema validation: nesting depth (a schema validator
 * recurses, so 20 000 levels overflowed the stack and answered 500) and NUL characters
 * (PostgreSQL's text cannot hold U+0000), in values and in keys. Iterative, so any depth is safe.
 */
export const MAX_JSON_DEPTH = 64

export interface JsonProblem {
  /** JSON pointer of the offending value, e.g. `/rule/values/0/value`. */
  path: string
  message: string
}

const pointer = (key: string | number) => '/' + String(key).replace(/~/g, '~0').replace(/\//g, '~1')

/** The first problem found, or null. */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  const stack: Array<[unknown, string, number]> = [[value, '', 0]]
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop()!
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { path, message: 'the NUL character (U+0000) is not allowed in text' }
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path + pointer(i), depth + 1])
      continue
    }
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\u0000'))
        return { path: path + pointer(k), message: 'the NUL character (U+0000) is not allowed in a key' }
      stack.push([child, path + pointer(k), depth + 1])
    }
  }
  return null
}
