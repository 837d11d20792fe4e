import { expect, it } from 'vitest'
import { ResultCache } from '../../server/calc/result-cache.ts'

it('serves a stored read until the label is invalidated or the entry outlives its TTL', () => {
  let now = 0
  const c = new ResultCache<string>({ ttlMs: 100, now: () => now })
  c.set('l1', 'q', 'v1', c.generation('l1'))
  expect(c.get('l1', 'q')).toBe('v1')
  expect(c.get('l2', 'q')).toBeUndefined()
  c.invalidate('l1')
  expect(c.get('l1', 'q')).toBeUndefined()
  c.set('l1', 'q', 'v2', c.generation('l1'))
  now = 101
  expect(c.get('l1', 'q')).toBeUndefined()
})

it('drops a read that started before an invalidation', () => {
  const c = new ResultCache<string>()
  const gen = c.generation('l1') // read starts…
  c.invalidate('l1') // …a run succeeds meanwhile…
  c.set('l1', 'q', 'stale', gen) // …the old read must not be kept
  expect(c.get('l1', 'q')).toBeUndefined()
})

it('forgets a deleted label entirely, and a read that began before the deletion is not stored', () => {
  const c = new ResultCache<string>()
  for (let i = 0; i < 100; i++) {
    c.set(`l${i}`, 'q', 'v', c.generation(`l${i}`))
    c.invalidate(`l${i}`)
  }
  const gen = c.generation('l7') // a read of l7 starts…
  for (let i = 0; i < 100; i++) c.forget(`l${i}`) // …every label is deleted meanwhile
  expect(c.size()).toBe(0)
  c.set('l7', 'q', 'stale', gen)
  expect(c.get('l7', 'q')).toBeUndefined()
  expect(c.size()).toBe(0)
  c.set('l7', 'q', 'fresh', c.generation('l7')) // a new read after the deletion is served again
  expect(c.get('l7', 'q')).toBe('fresh')
})
