import { describe, expect, it } from 'vitest'
import { isOrderKey, keyBetween, keysBetween, placeAt } from '../../../shared/doc/fractional-index.ts'
import { makeRng } from '../../../shared/prng.ts'

describe('fractional index', () => {
  it('mints a key strictly between any two valid keys, thousands of times at random spots', () => {
    const rng = makeRng(7)
    const keys: string[] = []
    for (let i = 0; i < 3000; i++) {
      const at = rng.int(0, keys.length)
      const k = keyBetween(keys[at - 1] ?? null, keys[at] ?? null)
      expect(isOrderKey(k)).toBe(true)
      keys.splice(at, 0, k)
    }
    for (let i = 1; i < keys.length; i++) expect(keys[i - 1]! < keys[i]!).toBe(true)
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(40)
  })

  it('keeps appended keys short', () => {
    let k: string | null = null
    for (let i = 0; i < 1000; i++) k = keyBetween(k, null)
    expect(k!.length).toBeLessThan(40)
  })

  it('rejects keys out of order or malformed', () => {
    expect(() => keyBetween('b', 'a')).toThrow()
    expect(() => keyBetween('a', 'a')).toThrow()
    expect(() => keyBetween('a0', null)).toThrow()
    expect(() => keyBetween('a-', null)).toThrow()
  })

  it('spreads n keys between bounds in ascending order', () => {
    const ks = keysBetween('a', 'b', 50)
    expect(ks).toHaveLength(50)
    expect([...ks].sort()).toEqual(ks)
    expect(new Set(ks).size).toBe(50)
    expect(ks.every((k) => k > 'a' && k < 'b')).toBe(true)
  })

  it('re-keys the whole sibling list when neighbours carry equal keys', () => {
    const sibs = [
      { id: 'a', order: 'V' },
      { id: 'b', order: 'V' },
      { id: 'c', order: 'k' },
    ]
    const { keys, rekey } = placeAt(sibs, 1)
    expect(rekey.size).toBe(3)
    const ordered = [rekey.get('a')!, keys[0]!, rekey.get('b')!, rekey.get('c')!]
    expect([...ordered].sort()).toEqual(ordered)
  })
})
