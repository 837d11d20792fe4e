import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { createGroup, moveGroup } from '../../shared/doc/group-operations.ts'
import { createLabel, moveLabel } from '../../shared/doc/label-operations.ts'
import { ensureDefaultGroup } from '../../shared/doc/default-group.ts'
import { projectWorkspace } from '../../shared/doc/projection.ts'
import { planGroupDrop, planLabelDrop, zoneAt } from '../../client/features/groups/drop-plan.ts'
import {
  countLabels,
  filterTree,
  indexLabels,
  labelMatches,
  matchIndices,
  type LabelIndex,
} from '../../client/features/groups/tree-filter.ts'
import { rowOffsets, rowRange } from '../../client/ui/row-window.ts'
import {
  groupDestinations,
  labelDestinations,
  treeKeyAction,
  visibleItems,
} from '../../client/features/groups/tree-keys.ts'

const o = { kind: 'local' as const, actor: 'test' }

/** A workspace doc like the demo: Lifecycle(Acquisition, Retention), Value, Engagement, labels in some. */
function workspace() {
  const doc = new Y.Doc()
  ensureDefaultGroup(doc)
  const life = createGroup(doc, { name: 'Lifecycle' }, o, { id: 'g_life' })
  createGroup(doc, { name: 'Acquisition', parentId: life.id }, o, { id: 'g_acq' })
  createGroup(doc, { name: 'Retention', parentId: life.id }, o, { id: 'g_ret' })
  createGroup(doc, { name: 'Value' }, o, { id: 'g_val' })
  createGroup(doc, { name: 'Engagement' }, o, { id: 'g_eng' })
  const label = (id: string, name: string, displayName: string, groupId: string) =>
    createLabel(
      doc,
      { name, displayName, groupId, dataType: 'string', labelType: 'static', rule: { method: 'import' } },
      o,
      { id },
    )
  label('l_stage', 'customer_stage', 'Customer stage', 'g_ret')
  label('l_spend', 'spend_90d', 'Spend, last 90 days', 'g_val')
  label('l_band', 'spend_band', 'Spend band', 'g_val')
  label('l_vip', 'vip_list', 'VIP list', 'g_acq')
  label('l_misc', 'misc', 'Misc', 'default')
  return doc
}

describe('label filter', () => {
  it('matches name or display name, case-insensitively, as a substring', () => {
    expect(labelMatches({ name: 'spend_90d', displayName: 'Spend' }, 'END_9')).toBe(true)
    expect(labelMatches({ name: 'x', displayName: 'Customer Stage' }, 'stage')).toBe(true)
    expect(labelMatches({ name: 'x', displayName: 'y' }, 'z')).toBe(false)
    expect(labelMatches({ name: 'x', displayName: 'y' }, '  ')).toBe(true)
  })

  it('shows every group without a query, and only matching labels inside their groups with one', () => {
    const p = projectWorkspace(workspace())
    const all = filterTree(p, '')
    expect(all.map((g) => g.group.name)).toEqual(['Default', 'Lifecycle', 'Value', 'Engagement'])
    expect(countLabels(all)).toBe(5)
    const spend = filterTree(p, 'SPEND')
    expect(spend.map((g) => g.group.name)).toEqual(['Value'])
    expect(spend[0]!.labels.map((l) => l.name)).toEqual(['spend_90d', 'spend_band'])
    // A match in a subgroup keeps its parent, and only that subgroup.
    const vip = filterTree(p, 'vip')
    expect(vip.map((g) => g.group.name)).toEqual(['Lifecycle'])
    expect(vip[0]!.children.map((c) => c.group.name)).toEqual(['Acquisition'])
    expect(filterTree(p, 'nothing-like-this')).toEqual([])
  })

  it('a keystroke that matches the same labels keeps the tree it had (nothing to render again)', () => {
    const p = projectWorkspace(workspace())
    const index = indexLabels(p.labels)
    const sp = filterTree(p, 'sp', index)
    // "sp" and "spe" and "spend" all match spend_90d and spend_band (in Value): the same tree object.
    expect(filterTree(p, 'spe', index, sp)).toBe(sp)
    expect(filterTree(p, 'SPEND', index, sp)).toBe(sp)
    // "spend_" keeps the same two; "spend_9" narrows to one: a new tree.
    const narrower = filterTree(p, 'spend_9', index, sp)
    expect(narrower).not.toBe(sp)
    expect(narrower[0]!.labels.map((l) => l.name)).toEqual(['spend_90d'])
    // Back to no query: every group, a new tree; again with nothing changed: the same one.
    const all = filterTree(p, '', index, narrower)
    expect(countLabels(all)).toBe(5)
    expect(filterTree(p, ' ', index, all)).toBe(all)
    // A label replaced (edited) is a different label: the tree is built again.
    const edited = { ...p, labels: p.labels.map((l) => (l.name === 'spend_band' ? { ...l } : l)) }
    expect(filterTree(edited, 'sp', indexLabels(edited.labels), sp)).not.toBe(sp)
  })
})

describe('filter matches from the previous query (issue 9, keystrokes at 5,000 labels)', () => {
  /** 1,000 labels label_0000…label_0999 and an index whose text reads are counted. */
  const counted = () => {
    const labels = Array.from({ length: 1000 }, (_, i) => {
      const name = `label_${String(i).padStart(4, '0')}`
      return { id: `l${i}`, name, displayName: name.replace('_', ' '), groupId: 'default' }
    }) as unknown as Parameters<typeof indexLabels>[0]
    const base = indexLabels(labels)
    const reads = { n: 0 }
    const text = new Proxy(base.text as string[], {
      get(t, k, r) {
        if (typeof k === 'string' && /^\d+$/.test(k)) reads.n++
        return Reflect.get(t, k, r)
      },
    })
    return { index: { ...base, text } as LabelIndex, reads, labels }
  }
  const names = (index: LabelIndex, q: string) => matchIndices(index, q).map((i) => index.labels[i]!.name)

  it('a longer query scans only the labels the shorter one matched; a recent query is not scanned again', () => {
    const { index, reads } = counted()
    expect(matchIndices(index, 'label_0')).toHaveLength(1000)
    expect(reads.n).toBe(1000)
    reads.n = 0
    expect(names(index, 'label_01')).toHaveLength(100)
    expect(reads.n).toBe(1000) // the 1,000 "label_0" matched
    reads.n = 0
    expect(names(index, 'label_012')).toEqual(Array.from({ length: 10 }, (_, i) => `label_012${i}`))
    expect(reads.n).toBe(100)
    reads.n = 0
    // Backspace: "label_01" again, kept; then a query holding "label_012" anywhere.
    expect(names(index, 'label_01')).toHaveLength(100)
    expect(names(index, 'label_0123')).toEqual(['label_0123'])
    expect(reads.n).toBe(10)
  })

  it('gives what a full scan gives, for any sequence of queries', () => {
    const { index, labels } = counted()
    let seed = 7
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const alphabet = 'label_0123 '
    let q = ''
    for (let step = 0; step < 400; step++) {
      q = rnd(3) === 0 && q.length > 0 ? q.slice(0, -1) : q + alphabet[rnd(alphabet.length)]
      const t = q.trim().toLowerCase()
      if (!t) continue
      const full = labels.filter((l) => labelMatches(l, t)).map((l) => l.name)
      expect(names(index, t)).toEqual(full)
    }
  })
})

describe('drop planning (what a drag would do, before it is done)', () => {
  it('picks before/into/after from the pointer position on a row', () => {
    expect(zoneAt(2, 20, true)).toBe('before')
    expect(zoneAt(10, 20, true)).toBe('into')
    expect(zoneAt(18, 20, true)).toBe('after')
    expect(zoneAt(9, 20, false)).toBe('before')
    expect(zoneAt(11, 20, false)).toBe('after')
  })

  it('refuses what SPEC §3 forbids, with a reason to show while hovering', () => {
    const p = projectWorkspace(workspace())
    expect(planGroupDrop(p, 'g_life', 'g_val', 'into')).toEqual({
      ok: false,
      reason: 'a group with subgroups cannot be placed under a first-level group',
    })
    expect(planGroupDrop(p, 'g_life', 'g_acq', 'before')).toMatchObject({ ok: false })
    expect(planGroupDrop(p, 'g_val', 'default', 'into')).toEqual({
      ok: false,
      reason: 'the Default group cannot have subgroups',
    })
    expect(planGroupDrop(p, 'default', 'g_life', 'into')).toEqual({
      ok: false,
      reason: 'the Default group stays first-level',
    })
    expect(planGroupDrop(p, 'g_val', 'g_acq', 'into')).toEqual({ ok: false, reason: 'groups have at most two levels' })
    expect(planGroupDrop(p, 'g_val', 'g_val', 'into')).toEqual({ ok: false, reason: '' })
  })

  it('plans moves that the shared operations then perform exactly', () => {
    const doc = workspace()
    const plan = planGroupDrop(projectWorkspace(doc), 'g_eng', 'g_life', 'before')
    expect(plan).toEqual({ ok: true, parentId: null, index: 1 })
    if (plan.ok) moveGroup(doc, 'g_eng', { parentId: plan.parentId, index: plan.index }, o)
    expect(projectWorkspace(doc).groups.map((g) => g.name)).toEqual(['Default', 'Engagement', 'Lifecycle', 'Value'])

    const into = planGroupDrop(projectWorkspace(doc), 'g_val', 'g_life', 'into')
    expect(into).toEqual({ ok: true, parentId: 'g_life', index: 2 })
    if (into.ok) moveGroup(doc, 'g_val', { parentId: into.parentId, index: into.index }, o)
    expect(
      projectWorkspace(doc)
        .groups.find((g) => g.id === 'g_life')!
        .children.map((c) => c.name),
    ).toEqual(['Acquisition', 'Retention', 'Value'])

    const sub = planGroupDrop(projectWorkspace(doc), 'g_val', 'g_acq', 'before')
    expect(sub).toEqual({ ok: true, parentId: 'g_life', index: 0 })

    const label = planLabelDrop(projectWorkspace(doc), 'l_band', { kind: 'label', id: 'l_spend', zone: 'before' })
    expect(label).toEqual({ ok: true, groupId: 'g_val', index: 0 })
    if (label.ok) moveLabel(doc, 'l_band', { groupId: label.groupId, index: label.index }, o)
    expect(
      projectWorkspace(doc)
        .labels.filter((l) => l.groupId === 'g_val')
        .map((l) => l.name),
    ).toEqual(['spend_band', 'spend_90d'])

    const toGroup = planLabelDrop(projectWorkspace(doc), 'l_stage', { kind: 'group', id: 'default' })
    expect(toGroup).toEqual({ ok: true, groupId: 'default', index: 1 })
    const after = planLabelDrop(projectWorkspace(doc), 'l_stage', { kind: 'label', id: 'l_misc', zone: 'after' })
    expect(after).toEqual({ ok: true, groupId: 'default', index: 1 })
  })
})

describe('tree keyboard (the WAI-ARIA tree pattern)', () => {
  const p = projectWorkspace(workspace())
  const items = (closed: string[] = []) => visibleItems(filterTree(p, ''), (id) => !closed.includes(id))
  const act = (key: string, at: string, closed: string[] = [], mods = {}) => treeKeyAction(items(closed), at, key, mods)

  it('lists the visible rows in screen order with their levels; a collapsed group hides its subtree', () => {
    expect(items().map((i) => `${i.key}@${i.level}`)).toEqual([
      'group:default@1',
      'label:l_misc@2',
      'group:g_life@1',
      'group:g_acq@2',
      'label:l_vip@3',
      'group:g_ret@2',
      'label:l_stage@3',
      'group:g_val@1',
      'label:l_spend@2',
      'label:l_band@2',
      'group:g_eng@1',
    ])
    expect(items().find((i) => i.key === 'group:g_eng')?.expandable).toBe(false)
    expect(items(['g_life']).map((i) => i.key)).toEqual([
      'group:default',
      'label:l_misc',
      'group:g_life',
      'group:g_val',
      'label:l_spend',
      'label:l_band',
      'group:g_eng',
    ])
  })

  it('gives every row its aria-setsize and aria-posinset among the rows under the same parent', () => {
    expect(items().map((i) => `${i.key} ${i.posInSet}/${i.setSize}`)).toEqual([
      'group:default 1/4',
      'label:l_misc 1/1',
      'group:g_life 2/4',
      'group:g_acq 1/2',
      'label:l_vip 1/1',
      'group:g_ret 2/2',
      'label:l_stage 1/1',
      'group:g_val 3/4',
      'label:l_spend 1/2',
      'label:l_band 2/2',
      'group:g_eng 4/4',
    ])
  })

  it('moves up and down the visible rows, to the first and last with Home and End', () => {
    expect(act('ArrowDown', 'label:l_misc')).toEqual({ kind: 'focus', key: 'group:g_life' })
    expect(act('ArrowDown', 'group:g_life', ['g_life'])).toEqual({ kind: 'focus', key: 'group:g_val' })
    expect(act('ArrowUp', 'group:g_val')).toEqual({ kind: 'focus', key: 'label:l_stage' })
    expect(act('ArrowUp', 'group:default')).toBeNull()
    expect(act('ArrowDown', 'group:g_eng')).toBeNull()
    expect(act('Home', 'label:l_band')).toEqual({ kind: 'focus', key: 'group:default' })
    expect(act('End', 'label:l_misc')).toEqual({ kind: 'focus', key: 'group:g_eng' })
    expect(act('ArrowDown', 'label:gone')).toEqual({ kind: 'focus', key: 'group:default' })
    expect(act('ArrowDown', 'label:l_misc', [], { ctrl: true })).toBeNull()
  })

  it('Right expands a closed group or enters an open one; Left collapses an open group or goes to the parent', () => {
    expect(act('ArrowRight', 'group:g_life', ['g_life'])).toEqual({ kind: 'expand', groupId: 'g_life' })
    expect(act('ArrowRight', 'group:g_life')).toEqual({ kind: 'focus', key: 'group:g_acq' })
    expect(act('ArrowRight', 'label:l_vip')).toBeNull()
    expect(act('ArrowRight', 'group:g_eng')).toBeNull() // nothing to expand
    expect(act('ArrowLeft', 'group:g_acq')).toEqual({ kind: 'collapse', groupId: 'g_acq' })
    expect(act('ArrowLeft', 'group:g_acq', ['g_acq'])).toEqual({ kind: 'focus', key: 'group:g_life' })
    expect(act('ArrowLeft', 'label:l_vip')).toEqual({ kind: 'focus', key: 'group:g_acq' })
    expect(act('ArrowLeft', 'group:g_val', ['g_val'])).toBeNull() // a closed top-level group
  })

  it('Enter opens a label or toggles a group; Shift+F10 and the menu key open the More menu; letters jump', () => {
    expect(act('Enter', 'label:l_spend')).toEqual({ kind: 'open', labelId: 'l_spend' })
    expect(act('Enter', 'group:g_val')).toEqual({ kind: 'collapse', groupId: 'g_val' })
    expect(act('Enter', 'group:g_val', ['g_val'])).toEqual({ kind: 'expand', groupId: 'g_val' })
    expect(act('F10', 'label:l_spend', [], { shift: true })).toEqual({ kind: 'menu', key: 'label:l_spend' })
    expect(act('F10', 'label:l_spend')).toBeNull()
    expect(act('ContextMenu', 'group:g_val')).toEqual({ kind: 'menu', key: 'group:g_val' })
    // Type-ahead: the next row whose name starts with the letter, wrapping round.
    expect(act('s', 'label:l_misc')).toEqual({ kind: 'focus', key: 'label:l_spend' })
    expect(act('S', 'label:l_spend')).toEqual({ kind: 'focus', key: 'label:l_band' })
    expect(act('d', 'group:g_eng')).toEqual({ kind: 'focus', key: 'group:default' })
    expect(act('q', 'group:g_eng')).toBeNull()
  })
})

describe('"Move to…" destinations (the places a drag could put a row)', () => {
  const p = projectWorkspace(workspace())
  const names = (ds: Array<{ name: string }>) => ds.map((d) => d.name)

  it('offers a label every other group, at its end', () => {
    const ds = labelDestinations(p, 'l_stage')
    expect(names(ds)).toEqual(['Default', 'Lifecycle', 'Lifecycle › Acquisition', 'Value', 'Engagement'])
    expect(ds.find((d) => d.name === 'Value')).toMatchObject({ groupId: 'g_val', index: 2 })
    expect(labelDestinations(p, 'nope')).toEqual([])
  })

  it('offers a group only the places the two-level rule allows, as dragging does', () => {
    // A subgroup: the top level, or under another first-level group (not Default, not a subgroup).
    expect(names(groupDestinations(p, 'g_acq'))).toEqual(['Top level', 'Value', 'Engagement'])
    expect(groupDestinations(p, 'g_acq')[0]).toMatchObject({ groupId: null, index: 4 })
    // A first-level group without subgroups: under another first-level group.
    expect(names(groupDestinations(p, 'g_val'))).toEqual(['Lifecycle', 'Engagement'])
    // A group with subgroups, and Default, go nowhere.
    expect(groupDestinations(p, 'g_life')).toEqual([])
    expect(groupDestinations(p, 'default')).toEqual([])
    // Each offer is one a drag onto that group would accept.
    for (const g of Object.keys(p.groupsById))
      for (const d of groupDestinations(p, g))
        if (d.groupId !== null) expect(planGroupDrop(p, g, d.groupId, 'into')).toMatchObject({ ok: true })
  })
})

describe('the rendered window of a long list (client/ui/row-window.ts)', () => {
  const offsets = rowOffsets([32, 44, 44, 32, 44, 44, 44, 32])

  it('places rows of mixed heights one under the other', () => {
    expect(offsets).toEqual([0, 32, 76, 120, 152, 196, 240, 284, 316])
  })

  it('renders the rows meeting the viewport and the overscan, never fewer than one', () => {
    expect(rowRange(offsets, 0, 100, 0)).toEqual({ start: 0, end: 3 })
    expect(rowRange(offsets, 100, 60, 0)).toEqual({ start: 2, end: 5 })
    expect(rowRange(offsets, 100, 60, 50)).toEqual({ start: 1, end: 6 })
    // Scrolled above the list or past its end.
    expect(rowRange(offsets, -500, 100, 0)).toEqual({ start: 0, end: 1 })
    expect(rowRange(offsets, 1000, 100, 0)).toEqual({ start: 7, end: 8 })
    expect(rowRange([0], 0, 100, 50)).toEqual({ start: 0, end: 0 })
  })

  it('finds the window in 5,000 rows without walking them from the top', () => {
    const many = rowOffsets(Array.from({ length: 5000 }, () => 40))
    expect(rowRange(many, 40 * 4000, 400, 0)).toEqual({ start: 4000, end: 4010 })
  })
})
