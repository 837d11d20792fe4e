import type { Filter } from '../../../shared/schemas/rule.ts'

/** Parses what an operator typed as a filter/attribute value: lists for in/not_in/between, numbers when numeric. */
export function parseTyped(text: string, op: string, type: string | undefined): Filter['value'] {
  const one = (s: string): string | number | boolean => {
    const t = s.trim()
    if (type === 'number' && t !== '' && Number.isFinite(Number(t))) return Number(t)
    if (type === 'boolean') return t === 'true'
    return t
  }
  if (op === 'in' || op === 'not_in' || op === 'between') return text.split(',').map(one)
  return one(text)
}
