import { expect } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_GROUP_ID, labelsOf, projectWorkspace, type WorkspaceProjection } from '../../../shared/doc/index.ts'

/** Asserts SPEC §3 on a projection: one first-level Default, ≤ 2 levels, no cycle, every label in one existing group. */
export function expectInvariants(doc: Y.Doc, p: WorkspaceProjection = projectWorkspace(doc)): void {
  const seen = new Set<string>()
  const defaults = p.groups.filter((g) => g.id === DEFAULT_GROUP_ID)
  expect(defaults).toHaveLength(1)
  expect(defaults[0]!.children).toEqual([])
  for (const g of p.groups) {
    expect(seen.has(g.id)).toBe(false)
    seen.add(g.id)
    expect(g.parentId).toBeNull()
    for (const c of g.children) {
      expect(seen.has(c.id)).toBe(false)
      seen.add(c.id)
      expect(c.parentId).toBe(g.id)
      expect(c.children).toEqual([])
    }
  }
  expect(seen.size).toBe(Object.keys(p.groupsById).length)
  let raw = 0
  labelsOf(doc).forEach((v) => v instanceof Y.Map && raw++)
  expect(p.labels).toHaveLength(raw) // no label lost
  expect(new Set(p.labels.map((l) => l.id)).size).toBe(raw)
  for (const l of p.labels) expect(seen.has(l.groupId)).toBe(true)
  const holders = new Map<string, number>()
  for (const l of p.labels) if (!l.nameConflict) holders.set(l.name, (holders.get(l.name) ?? 0) + 1)
  for (const n of holders.values()) expect(n).toBe(1)
}

/** The projection without fields that may legitimately differ (none today); used to compare replicas. */
export function comparable(p: WorkspaceProjection): unknown {
  return { groups: p.groups, labels: p.labels, duplicates: p.duplicates }
}
