import { createMemo, createSelector, createSignal, For, lazy, onCleanup, Show, untrack, type JSX } from 'solid-js'
import { createGroup, deleteGroup, moveGroup, renameGroup } from '../../../shared/doc/group-operations.ts'
import { moveLabel } from '../../../shared/doc/label-operations.ts'
import type { ProjectedLabel } from '../../../shared/doc/projection.ts'
import { useSession } from '../../session.tsx'
import { needsServer } from '../../sync/connectivity.ts'
import type { MenuItem } from '../../ui/more-menu.tsx'
import { PresenceDots } from '../../ui/presence-dots.tsx'
import { createRowWindow } from '../../ui/row-window.ts'
import { DraftBadge, NewLabelDrafts } from '../labels/draft-badges.tsx'
import { planGroupDrop, planLabelDrop, zoneAt, type DropZone } from './drop-plan.ts'
import type { MoveTarget } from './move-dialog.tsx'
import { countLabels, filterTree, indexLabels, type VisibleGroup } from './tree-filter.ts'
import { itemKey, treeKeyAction, visibleItems, type TreeItem } from './tree-keys.ts'

type Drag = { kind: 'group' | 'label'; id: string }

// Kobalte's menu and dialog are loaded at the first "More" click or "Move to…", not with the
// tree: the first load compiles only what shows the tree (issue 9, "Scale": load → interactive).
type MenuModule = typeof import('../../ui/more-menu.tsx')
const [menuModule, setMenuModule] = createSignal<MenuModule | null>(null)
const loadMenu = (): Promise<MenuModule> =>
  import('../../ui/more-menu.tsx').then((m) => {
    setMenuModule(() => m)
    return m
  })
const MoveDialog = lazy(() => import('./move-dialog.tsx').then((m) => ({ default: m.MoveDialog })))

/** Up to this many labels every group starts open. */
const OPEN_ALL_UP_TO = 300
/**
 * Up to this many rows the whole tree of a small workspace (all groups open) is rendered; past it,
 * and always in a large workspace, the rows in view (client/ui/row-window.ts). A filter that
 * narrowed 5,000 labels to 200 rows rendered all 200 at once: a 100–300 ms keystroke (issue 9).
 */
const RENDER_ALL_UP_TO = 300
/** Row heights (px), fixed by the stylesheet (.tree-rows). */
const GROUP_ROW_PX = 32
const LABEL_ROW_PX = 44
type Hover = { kind: 'group' | 'label'; id: string; zone: DropZone; refused: string | null }

/**
 * The label group tree (docs/model.md#groups): filter, More menus, drag groups and labels, presence.
 * A WAI-ARIA tree with one Tab stop (a roving tabindex) and the keyboard map of tree-keys.ts.
 */
export function GroupTree(): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const [query, setQuery] = createSignal('')
  /** Groups opened or closed by the operator; the others follow startOpen. */
  const [toggled, setToggled] = createSignal<ReadonlyMap<string, boolean>>(new Map())
  const [renaming, setRenaming] = createSignal<string | null>(null)
  const [adding, setAdding] = createSignal<{ parentId: string | null } | null>(null)
  const [drag, setDrag] = createSignal<Drag | null>(null)
  const [hover, setHover] = createSignal<Hover | null>(null)
  const [active, setActive] = createSignal<string | null>(null)
  const [moving, setMoving] = createSignal<MoveTarget | null>(null)
  // Lower-cased names, rebuilt when labels change; a keystroke only scans them (issue 9, "Scale").
  const labelIndex = createMemo(() => indexLabels(ws.labels()))
  // A keystroke that leaves the matching labels as they were (typing "label_" over labels all
  // named label_…) keeps the tree: nothing below runs again.
  // The groups as plain objects (ws.groups): walked through the store, every keystroke that
  // rebuilt the tree read 500 groups' fields as signals and re-subscribed to all of them (issue 9).
  const tree = createMemo<VisibleGroup[]>((prev) =>
    filterTree({ groups: ws.groups(), labels: ws.labels() }, query(), labelIndex(), prev),
  )
  const filtering = createMemo(() => query().trim() !== '')
  // A large workspace opens with its groups closed (the tree lists groups, not thousands of rows),
  // except the open label's; a small one with every group open. A filter opens groups with matches.
  const startOpen = createMemo(() => ws.labels().length <= OPEN_ALL_UP_TO)
  const selectedGroups = createMemo(() => {
    const id = s.selectedLabel()
    const label = id === null ? undefined : ws.labels().find((l) => l.id === id)
    const out = new Set<string>()
    if (!label) return out
    out.add(label.groupId)
    for (const g of ws.view.groups) if (g.children.some((c) => c.id === label.groupId)) out.add(g.id)
    return out
  })
  const openUnfiltered = (groupId: string) => toggled().get(groupId) ?? (startOpen() || selectedGroups().has(groupId))
  // Which groups are open depends on these four signals, each read once (read per group, Solid
  // subscribed the list 500 times to each, and undid it all at every keystroke: issue 9). The rows
  // are then listed without subscribing to every shown label's fields: their names reach tree()
  // through labelIndex already.
  const items = createMemo(() => {
    const t = tree()
    const all = filtering()
    const byHand = toggled()
    const open = startOpen()
    const withSelected = selectedGroups()
    return untrack(() => visibleItems(t, (id) => all || (byHand.get(id) ?? (open || withSelected.has(id)))))
  })
  /** The row holding the tree's one Tab stop: the last focused, else the open label, else the first row. */
  const tabStop = createMemo(() => {
    const list = items()
    const a = active()
    if (a !== null && list.some((i) => i.key === a)) return a
    const sel = s.selectedLabel()
    const selKey = sel === null ? null : itemKey('label', sel)
    return list.find((i) => i.key === selKey)?.key ?? list[0]?.key ?? null
  })
  const isTabStop = createSelector(tabStop)
  let treeEl: HTMLUListElement | undefined
  // ---- the rendered window: rows of fixed heights, those in the viewport plus an overscan -----
  // Loops, not map(): thousands of rows at every keystroke that changes them (issue 9).
  const indexOf = createMemo(() => {
    const m = new Map<string, number>()
    items().forEach((it, i) => m.set(it.key, i))
    return m
  })
  const offsets = createMemo(() => {
    const list = items()
    const out = new Array<number>(list.length + 1)
    out[0] = 0
    for (let i = 0; i < list.length; i++)
      out[i + 1] = (out[i] as number) + ((list[i] as TreeItem).kind === 'group' ? GROUP_ROW_PX : LABEL_ROW_PX)
    return out
  })
  // 300 px above and below: rows are rendered in the scroll event that brings them (before the
  // frame), so the overscan is only a margin. A keystroke that changes the rows mounts those in view
  // and the overscan after its frame (viewportFirst; a filter's first letter opens 500 groups).
  const win = createRowWindow({
    offsets,
    overscan: 300,
    allUpTo: () => (startOpen() ? RENDER_ALL_UP_TO : 0),
    viewportFirst: true,
  })
  /**
   * Keys of the rendered rows: the window, the Tab stop and a dragged row (a focused or dragged row
   * stays mounted). Rows already rendered keep their place in the markup and new ones come after
   * (placement is by style): moving a focused element in the DOM would blur it, e.g. when its label
   * is moved to another group. The keyboard and aria-level/setsize/posinset give the tree order.
   */
  let rendered: string[] = []
  const shownKeys = createMemo(() => {
    const list = items()
    const { start, end } = win.range()
    const want = new Set<string>()
    for (let i = start; i < end && i < list.length; i++) want.add((list[i] as TreeItem).key)
    const d = drag()
    for (const k of [tabStop(), d && itemKey(d.kind, d.id)]) if (k && indexOf().has(k)) want.add(k)
    const kept = rendered.filter((k) => want.has(k))
    const have = new Set(kept)
    rendered = [...kept, ...[...want].filter((k) => !have.has(k))]
    return rendered
  })
  /**
   * Focuses a row: as the Tab stop it is rendered even out of the window; focus() scrolls it into
   * view, and the rows around it are rendered in the same task.
   */
  const focusRow = (key: string) => {
    setActive(key)
    treeEl?.querySelector<HTMLElement>(`[data-tree-key="${key}"]`)?.focus()
    win.measure()
  }
  /** A focused row that goes away (deleted, moved, filtered out) hands focus to the tree's Tab stop. */
  const keepFocus = (el: HTMLElement) =>
    onCleanup(() => {
      if (document.activeElement !== el) return
      queueMicrotask(() => {
        const next = tabStop()
        if (next && (document.activeElement === document.body || !document.activeElement)) focusRow(next)
      })
    })
  const onTreeKeyDown = (e: KeyboardEvent) => {
    const row = e.target as HTMLElement
    if (row.getAttribute('role') !== 'treeitem') return // keys in an input or a button stay theirs
    const key = row.dataset['treeKey'] ?? ''
    const action = treeKeyAction(items(), key, e.key, {
      shift: e.shiftKey,
      ctrl: e.ctrlKey,
      alt: e.altKey,
      meta: e.metaKey,
    })
    if (!action) return
    e.preventDefault()
    if (action.kind === 'focus') focusRow(action.key)
    else if (action.kind === 'expand' || action.kind === 'collapse') toggle(action.groupId)
    else if (action.kind === 'open') s.selectLabel(action.labelId)
    else {
      const more = row.querySelector<HTMLElement>('.more button')
      if (more?.dataset['lazy']) more.click()
      else if (more) menuModule()?.openMoreMenu(more) // mounted: its module is loaded
    }
  }
  /** Back on the row whose menu or dialog closed (it may have moved to another group meanwhile). */
  const refocus = (key: string) => () => {
    const now = document.activeElement
    if (!now || now === document.body || treeEl?.contains(now)) focusRow(key)
  }
  const editable = () => s.canEdit && ws.ready() // offline too, once the local copy is loaded

  const toggle = (id: string) => setToggled((m) => new Map(m).set(id, !openUnfiltered(id)))

  const startRename = (id: string) => {
    setRenaming(id)
    ws.presence.setEditing({ kind: 'group', id })
  }
  const finishRename = (id: string, name: string | null) => {
    setRenaming(null)
    ws.presence.setEditing(null)
    if (name !== null && name.trim() && name.trim() !== ws.view.groupsById[id]?.name)
      ws.edit((doc, o) => renameGroup(doc, id, name, o))
  }
  const submitNew = (name: string | null) => {
    const a = adding()
    setAdding(null)
    if (a && name?.trim()) {
      const g = ws.edit((doc, o) => createGroup(doc, { name, parentId: a.parentId }, o))
      if (g) s.toasts.show('info', `Group "${g.name}" created`)
    }
  }

  // ---- drag and drop -------------------------------------------------------------------
  const planFor = (
    h: Omit<Hover, 'refused'>,
  ): ReturnType<typeof planGroupDrop> | ReturnType<typeof planLabelDrop> | null => {
    const d = drag()
    if (!d) return null
    if (d.kind === 'group')
      return h.kind === 'group'
        ? planGroupDrop(ws.view, d.id, h.id, h.zone)
        : { ok: false, reason: 'drop a group on another group' }
    return planLabelDrop(
      ws.view,
      d.id,
      h.kind === 'group' ? { kind: 'group', id: h.id } : { kind: 'label', id: h.id, zone: h.zone },
    )
  }
  /** The draggable row an event is on (drag events are handled once, on the tree, not per row). */
  const rowOf = (e: DragEvent): { el: HTMLElement; kind: Drag['kind']; id: string } | null => {
    const el = (e.target instanceof Element ? e.target.closest('[data-drag-id]') : null) as HTMLElement | null
    const kind = el?.dataset['dragKind']
    return el && (kind === 'group' || kind === 'label') ? { el, kind, id: el.dataset['dragId'] ?? '' } : null
  }
  const onTreeDragStart = (e: DragEvent) => {
    const r = rowOf(e)
    if (r) onDragStart(e, { kind: r.kind, id: r.id })
  }
  const onTreeDragOver = (e: DragEvent) => {
    const r = rowOf(e)
    if (r) onDragOver(e, r.kind, r.id, r.el)
  }
  const onTreeDrop = (e: DragEvent) => {
    if (rowOf(e)) onDrop(e)
  }
  const onDragStart = (e: DragEvent, d: Drag) => {
    if (!editable()) return e.preventDefault()
    e.stopPropagation()
    e.dataTransfer?.setData('text/plain', `${d.kind}:${d.id}`)
    if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move'
    setDrag(d)
    ws.presence.setDragging({ ...d, overGroupId: null, index: null })
  }
  const onDragOver = (e: DragEvent, kind: Hover['kind'], id: string, row: HTMLElement) => {
    const d = drag()
    if (!d) return
    e.preventDefault()
    e.stopPropagation()
    const rect = row.getBoundingClientRect()
    const zone =
      kind === 'group'
        ? zoneAt(e.clientY - rect.top, rect.height, d.kind === 'group')
        : zoneAt(e.clientY - rect.top, rect.height, false)
    const effZone: DropZone = d.kind === 'label' && kind === 'group' ? 'into' : zone
    const plan = planFor({ kind, id, zone: effZone })
    const refused = plan && !plan.ok ? plan.reason || null : null
    if (e.dataTransfer) e.dataTransfer.dropEffect = plan?.ok ? 'move' : 'none'
    const h = hover()
    if (!h || h.id !== id || h.zone !== effZone || h.kind !== kind) {
      setHover({ kind, id, zone: effZone, refused })
      if (plan?.ok)
        ws.presence.setDragging({
          ...d,
          overGroupId: 'groupId' in plan ? plan.groupId : plan.parentId,
          index: plan.index,
        })
    }
  }
  const endDrag = () => {
    // A refused drop never fires 'drop' (dropEffect none): say why when the drag ends there.
    const refused = hover()?.refused
    if (refused) s.toasts.show('error', `Can't move there: ${refused}`)
    setDrag(null)
    setHover(null)
    ws.presence.setDragging(null)
  }
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    e.stopPropagation()
    const d = drag()
    const h = hover()
    const plan = h ? planFor(h) : null
    setHover(null)
    endDrag()
    if (!d || !plan) return
    if (!plan.ok) {
      if (plan.reason) s.toasts.show('error', `Can't move there: ${plan.reason}`)
      return
    }
    if ('parentId' in plan) ws.edit((doc, o) => moveGroup(doc, d.id, { parentId: plan.parentId, index: plan.index }, o))
    else ws.edit((doc, o) => moveLabel(doc, d.id, { groupId: plan.groupId, index: plan.index }, o))
  }
  // Rows subscribe through selectors: a hover or selection change re-runs two rows, not all of them.
  const isHovered = createSelector(() => {
    const h = hover()
    return h ? `${h.kind}:${h.id}` : null
  })
  const isSelected = createSelector(() => s.selectedLabel())
  const hoverClass = (kind: Hover['kind'], id: string) => {
    if (!isHovered(`${kind}:${id}`)) return {}
    const h = hover()
    if (!h) return {}
    return { [`drop-${h.zone}`]: !h.refused, 'drop-refused': !!h.refused }
  }

  // ---- rows ----------------------------------------------------------------------------
  /** Labels someone is editing or dragging: only their rows mount presence dots. */
  const busyLabels = createMemo(() => {
    const ids = new Set<string>()
    for (const p of ws.presence.peers()) {
      if (p.editing?.kind === 'label') ids.add(p.editing.id)
      if (p.dragging?.kind === 'label') ids.add(p.dragging.id)
    }
    return ids
  })
  const groupMenu = (g: VisibleGroup['group']): MenuItem[] => {
    const items: MenuItem[] = [{ label: 'New label', action: () => s.openEditor({ groupId: g.id }) }]
    if (g.isDefault) return items
    if (g.parentId === null) items.push({ label: 'Add subgroup', action: () => setAdding({ parentId: g.id }) })
    items.push({ label: 'Rename', action: () => startRename(g.id) })
    items.push({ label: 'Move to…', testId: 'menu-move', action: () => setMoving({ kind: 'group', id: g.id }) })
    items.push({
      label: 'Delete group',
      testId: 'menu-delete-group',
      danger: true,
      confirm: g.children.length ? 'Delete with subgroups? Labels go to Default' : 'Delete? Its labels go to Default',
      action: () => {
        const r = ws.edit((doc, o) => deleteGroup(doc, g.id, o))
        if (r)
          s.toasts.show(
            'info',
            `Deleted ${r.deletedGroupIds.length} group(s); ${r.movedLabelIds.length} label(s) moved to Default`,
          )
      },
    })
    return items
  }
  const labelMenu = (l: ProjectedLabel): MenuItem[] => [
    { label: 'Edit', action: () => s.openEditor({ labelId: l.id }) },
    { label: 'Move to…', testId: 'menu-move', action: () => setMoving({ kind: 'label', id: l.id }) },
    {
      label: 'Recalculate',
      disabled: needsServer('Recalculating'),
      action: () =>
        void s.api.send('POST', `/api/labels/${l.id}/calculate`, {}).then(
          () => s.toasts.show('info', `Calculation of ${l.name} queued`),
          (e: Error) => s.toasts.show('error', e.message),
        ),
    },
    {
      label: 'Delete',
      testId: 'menu-delete',
      danger: true,
      disabled: needsServer('Deleting a label (and its results)'),
      confirm: 'Delete label and its results?',
      action: () =>
        void s.api.send('DELETE', `/api/labels/${l.id}`).then(
          () => {
            if (s.selectedLabel() === l.id) s.selectLabel(null)
            s.toasts.show('info', `Label ${l.name} deleted`)
          },
          (e: Error) => s.toasts.show('error', e.message),
        ),
    },
  ]

  /** One rendered row: its item now (the same key keeps its row while the tree changes around it). */
  const itemOf = (key: string) => {
    let last = items()[indexOf().get(key) ?? -1] as TreeItem
    return () => {
      last = items()[indexOf().get(key) ?? -1] ?? last
      return last
    }
  }
  /** Where a row sits: its top, and its indent (a group's labels are indented more than its subgroups). */
  const place = (it: TreeItem) => ({
    top: `${offsets()[indexOf().get(it.key) ?? 0] ?? 0}px`,
    'margin-left': `${it.kind === 'group' ? (it.level - 1) * 14 : (it.level - 2) * 14 + 22}px`,
  })

  const LabelRow = (p: { key: string }) => {
    const it = itemOf(p.key)
    const l = () => it().label as ProjectedLabel
    return (
      <li
        class="label-row"
        classList={{ selected: isSelected(l().id), disabled: !l().enabled, ...hoverClass('label', l().id) }}
        style={place(it())}
        role="treeitem"
        aria-level={it().level}
        aria-setsize={it().setSize}
        aria-posinset={it().posInSet}
        aria-selected={isSelected(l().id)}
        aria-keyshortcuts={s.canEdit ? 'Shift+F10' : undefined}
        tabIndex={isTabStop(p.key) ? 0 : -1}
        data-tree-key={p.key}
        ref={keepFocus}
        data-testid={`label-row-${l().name}`}
        data-group={ws.view.groupsById[l().groupId]?.name}
        data-drag-kind="label"
        data-drag-id={l().id}
        draggable={editable()}
        onFocus={() => setActive(p.key)}
        onClick={() => s.selectLabel(l().id)}
      >
        <span class="label-text">
          <span class="label-display">{l().displayName}</span>
          <code class="label-name">{l().name}</code>
        </span>
        <Show when={l().nameConflict}>
          <span class="badge warn" title="Another label already holds this name; rename one of them">
            duplicate name
          </span>
        </Show>
        <Show when={!l().enabled}>
          <span class="badge muted">disabled</span>
        </Show>
        <DraftBadge labelId={l().id} name={l().name} />
        <Show when={busyLabels().has(l().id)}>
          <PresenceDots peers={ws.presence.busyWith('label', l().id)} />
        </Show>
        {/* Rendered with the row (an operator's role does not change), only enabled once there is a
            document to edit: the ready flip after an offline reload updates an attribute per row
            instead of mounting menus. */}
        <Show when={s.canEdit}>
          <LazyMenu
            items={() => labelMenu(l())}
            title={`More for label ${l().name}`}
            testId={`label-more-${l().name}`}
            disabled={!editable()}
            onCloseFocus={refocus(p.key)}
          />
        </Show>
      </li>
    )
  }

  const GroupRow = (p: { key: string }): JSX.Element => {
    const it = itemOf(p.key)
    const g = () => (it().node as VisibleGroup).group
    const count = () => (it().node as VisibleGroup).labels.length
    const refused = () => {
      const h = hover()
      return h?.kind === 'group' && h.id === g().id ? h.refused : null
    }
    return (
      <li
        class="group-row"
        classList={{ sub: g().parentId !== null, ...hoverClass('group', g().id) }}
        style={place(it())}
        role="treeitem"
        aria-level={it().level}
        aria-setsize={it().setSize}
        aria-posinset={it().posInSet}
        aria-expanded={it().expandable ? it().expanded : undefined}
        aria-keyshortcuts={editable() ? 'Shift+F10' : undefined}
        tabIndex={isTabStop(p.key) ? 0 : -1}
        data-tree-key={p.key}
        ref={keepFocus}
        data-testid={`group-row-${g().name}`}
        data-drag-kind="group"
        data-drag-id={g().id}
        draggable={editable() && !g().isDefault}
        onFocus={() => setActive(p.key)}
      >
        <button
          type="button"
          class="caret"
          tabIndex={-1}
          aria-hidden="true"
          aria-label={it().expanded ? `Collapse ${g().name}` : `Expand ${g().name}`}
          onClick={() => toggle(g().id)}
        >
          {it().expanded ? '▾' : '▸'}
        </button>
        <Show
          when={renaming() === g().id}
          fallback={
            <span class="group-name" onDblClick={() => !g().isDefault && editable() && startRename(g().id)}>
              {g().name}
            </span>
          }
        >
          <InlineInput value={g().name} onDone={(v) => finishRename(g().id, v)} />
        </Show>
        <Show when={g().isDefault}>
          <span class="badge muted">default</span>
        </Show>
        <span class="count">
          {count()}
          <span class="sr-only"> label{count() === 1 ? '' : 's'}</span>
        </span>
        <PresenceDots peers={ws.presence.busyWith('group', g().id)} />
        <Show when={editable()}>
          <span class="group-row-more">
            <LazyMenu
              items={() => groupMenu(g())}
              title={`More for group ${g().name}`}
              testId={`group-more-${g().name}`}
              onCloseFocus={refocus(p.key)}
            />
          </span>
        </Show>
        <Show when={refused()}>
          <div class="drop-hint">{refused()}</div>
        </Show>
      </li>
    )
  }

  return (
    <nav
      class="tree"
      aria-label="Label groups"
      onDragStart={onTreeDragStart}
      onDragOver={onTreeDragOver}
      onDrop={onTreeDrop}
      onDragEnd={endDrag}
    >
      <div class="tree-tools">
        <input
          type="search"
          class="filter"
          placeholder="Filter labels by name…"
          value={query()}
          aria-label="Filter labels by name"
          onInput={(e) => setQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            const first = e.key === 'ArrowDown' ? tabStop() : null
            if (first) {
              e.preventDefault()
              focusRow(first)
            }
          }}
          data-testid="label-filter"
        />
        <Show when={editable()}>
          <button type="button" class="btn small" onClick={() => setAdding({ parentId: null })} data-testid="new-group">
            + Group
          </button>
        </Show>
      </div>
      <Show when={adding()} keyed>
        {(a) => (
          <div class="new-group">
            <InlineInput
              value=""
              placeholder={a.parentId === null ? 'Group name' : `Subgroup of ${ws.view.groupsById[a.parentId]?.name}`}
              onDone={submitNew}
              testId={a.parentId === null ? 'new-group-name' : 'new-subgroup-name'}
            />
          </div>
        )}
      </Show>
      <Show when={ws.view.duplicates.length}>
        <div class="conflicts" role="alert">
          <strong>Name conflicts:</strong>{' '}
          <For each={ws.view.duplicates}>
            {(d) => (
              <code>
                {d.name} ×{d.labelIds.length}
              </code>
            )}
          </For>
          <div class="hint">Two operators created labels with the same name at the same time. Rename one of them.</div>
        </div>
      </Show>
      <Show when={query().trim()}>
        <div class="hint">{countLabels(tree())} matching label(s)</div>
      </Show>
      <NewLabelDrafts />
      <ul
        class="tree-rows"
        role="tree"
        aria-label="Labels by group"
        ref={(el) => {
          treeEl = el
          win.attach(el)
        }}
        onKeyDown={onTreeKeyDown}
        style={{ height: `${offsets()[items().length] ?? 0}px` }}
        data-rows={items().length}
      >
        <For each={shownKeys()}>
          {(key) => (key.startsWith('group:') ? <GroupRow key={key} /> : <LabelRow key={key} />)}
        </For>
      </ul>
      <Show when={!ws.ready()}>
        <div class="hint">Connecting to the workspace…</div>
      </Show>
      <Show when={moving()} keyed>
        {(m) => (
          <MoveDialog target={m} onClose={() => setMoving(null)} returnFocus={() => focusRow(itemKey(m.kind, m.id))} />
        )}
      </Show>
    </nav>
  )
}

/** A text input that commits on Enter/blur and cancels on Escape. */
function InlineInput(props: {
  value: string
  placeholder?: string
  onDone: (v: string | null) => void
  testId?: string
}): JSX.Element {
  let done = false
  const finish = (v: string | null) => {
    if (done) return
    done = true
    props.onDone(v)
  }
  return (
    <input
      class="inline-input"
      value={props.value}
      placeholder={props.placeholder}
      data-testid={props.testId}
      ref={(el) => queueMicrotask(() => el.focus())}
      onKeyDown={(e) => {
        if (e.key === 'Enter') finish(e.currentTarget.value)
        if (e.key === 'Escape') finish(null)
      }}
      onBlur={(e) => finish(e.currentTarget.value)}
      onClick={(e) => e.stopPropagation()}
    />
  )
}

/**
 * A row's "More" button: the real MoreMenu (a dropdown and two document listeners) is
 * loaded (menuModule), mounted on the first click and opened, so a tree of thousands of labels renders one plain
 * button per row (and a keystroke in the filter that brings other group rows mounts no menus).
 */
function LazyMenu(props: {
  items: () => MenuItem[]
  title: string
  testId: string
  disabled?: boolean
  onCloseFocus: (e: Event) => void
}): JSX.Element {
  const [mounted, setMounted] = createSignal(false)
  let box: HTMLDivElement | undefined
  return (
    <Show
      when={mounted() && !props.disabled && menuModule()}
      fallback={
        <div class="more" ref={box} onClick={(e) => e.stopPropagation()}>
          <button
            type="button"
            class="icon-btn"
            title={props.title}
            aria-label={props.title}
            data-testid={props.testId}
            data-lazy="true"
            tabIndex={-1}
            aria-hidden="true"
            disabled={props.disabled}
            onClick={() => {
              const host = box?.parentElement
              const placeholder = box?.firstElementChild
              void loadMenu().then((m) => {
                setMounted(true)
                // The menu's own button takes this one's place: open it as the keyboard would.
                queueMicrotask(() => {
                  const real = host?.querySelector<HTMLButtonElement>(`[data-testid="${props.testId}"]`)
                  if (real && real !== placeholder) m.openMoreMenu(real)
                })
              })
            }}
          >
            ⋯
          </button>
        </div>
      }
    >
      {(m) => {
        const Menu = m().MoreMenu
        return (
          <Menu
            items={props.items()}
            title={props.title}
            testId={props.testId}
            inTree
            onCloseFocus={props.onCloseFocus}
          />
        )
      }}
    </Show>
  )
}
