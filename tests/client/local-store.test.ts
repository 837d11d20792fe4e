import { describe, expect, it } from 'vitest'
import { COMPACT_ROWS, needsCompaction } from '../../client/sync/local-store.ts'

const MB = 1024 * 1024

/** client/sync/local-store.ts: when a loaded copy of the workspace is rewritten as one row. */
describe('compacting the IndexedDB copy', () => {
  it('compacts a copy holding more than a document and a half, or too many rows; not a healthy one', () => {
    // One document and the small rows of edits since: kept.
    expect(needsCompaction({ rows: 40, bytes: 2.6 * MB + 40 * 30, largest: 2.6 * MB })).toBe(false)
    // Earlier builds appended the whole document at reloads: 4 of them.
    expect(needsCompaction({ rows: 6, bytes: 4 * 2.6 * MB, largest: 2.6 * MB })).toBe(true)
    // Many rows, whatever their size.
    expect(needsCompaction({ rows: COMPACT_ROWS + 1, bytes: 100_000, largest: 2_000 })).toBe(true)
    // A small workspace's copy made of edits only: too small to matter.
    expect(needsCompaction({ rows: 50, bytes: 20_000, largest: 1_000 })).toBe(false)
  })
})
