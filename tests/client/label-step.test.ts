import { describe, expect, it } from 'vitest'
import { labelStep } from '../../client/features/labels/label-address.ts'

describe('Back and Forward between labels', () => {
  it('opening another label, or the overview, is a new history entry', () => {
    expect(labelStep('', 'l_a')).toEqual({ push: true, url: '#/labels/l_a' })
    expect(labelStep('#/labels/l_a', 'l_b')).toEqual({ push: true, url: '#/labels/l_b' })
    expect(labelStep('#/labels/l_b', null)).toEqual({ push: true, url: '' })
  })

  it('the same label (or the overview again) rewrites the entry instead', () => {
    expect(labelStep('#/labels/l_a', 'l_a')).toEqual({ push: false, url: '#/labels/l_a' })
    expect(labelStep('', null)).toEqual({ push: false, url: '' })
    expect(labelStep('#/', null)).toEqual({ push: false, url: '' })
    expect(labelStep('#/labels/a%20b', 'a b')).toEqual({ push: false, url: '#/labels/a%20b' })
  })
})
