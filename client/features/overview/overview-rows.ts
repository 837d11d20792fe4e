import type { ProjectedLabel, WorkspaceProjection } from '../../../shared/doc/projection.ts'
import { describeSchedule } from '../../../shared/schedule.ts'
import type { Label } from '../../../shared/schemas/label.ts'
import type { LabelView, Run } from '../../api/types.ts'
import { methodNames } from '../labels/rule-text.ts'

/**
 * The overview table's rows, pure: one per label, its definition from the shared document (live),
 * its runs from GET /api/labels and the live channel; sorting and filtering.
 */

/** What the server last said about a label's runs. */
export interface RunInfo {
  lastRun: Run | null
  nextRunAt: string | null
  /** The last known coverage (kept while a new run is queued or running). */
  covered: { users: number; total: number } | null
}

export type RunState = Run['status'] | 'never'

export interface OverviewRow {
  id: string
  name: string
  displayName: string
  group: string
  method: string
  dataType: string
  schedule: string
  enabled: boolean
  state: RunState
  /** The last run's id (null: never run). */
  runId: string | null
  error: string | null
  /** When the last run finished (else started, else was queued): ISO, or null when never run. */
  lastAt: string | null
  /** ms the last finished run took, or null. */
  durationMs: number | null
  coverage: number | null
  covered: { users: number; total: number } | null
  nextRunAt: string | null
}

/** The name of a group as the tree shows it, with its parent: "Value › Spend". */
export function groupPath(view: WorkspaceProjection, groupId: string): string {
  const g = view.groupsById[groupId]
  if (!g) return 'Default'
  const parent = g.parentId ? view.groupsById[g.parentId] : undefined
  return parent ? `${parent.name} › ${g.name}` : g.name
}

export const runDuration = (r: Run | null): number | null => {
  if (!r?.startedAt || !r.finishedAt) return null
  const d = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
  return Number.isFinite(d) && d >= 0 ? d : null
}

/** The run info after a live run message: the run replaces the last one; its coverage is kept once known. */
export function withRun(info: RunInfo | undefined, run: Run): RunInfo {
  const cur = info?.lastRun
  // Messages of an older run (e.g. a late "succeeded" of a run already replaced) don't go back in time.
  if (info && cur && cur.id !== run.id && Date.parse(cur.createdAt) > Date.parse(run.createdAt)) return info
  const covered =
    run.status === 'succeeded' && run.coveredUsers !== null && run.totalUsers !== null
      ? { users: run.coveredUsers, total: run.totalUsers }
      : (info?.covered ?? null)
  return { lastRun: run, nextRunAt: info?.nextRunAt ?? null, covered }
}

/** Run info as GET /api/labels answers it. */
export function runInfoOf(v: { lastRun: Run | null; nextRunAt: string | null }): RunInfo {
  const r = v.lastRun
  return {
    lastRun: r,
    nextRunAt: v.nextRunAt,
    covered:
      r && r.status === 'succeeded' && r.coveredUsers !== null && r.totalUsers !== null
        ? { users: r.coveredUsers, total: r.totalUsers }
        : null,
  }
}

export function rowOf(
  view: WorkspaceProjection,
  l: ProjectedLabel,
  info: RunInfo | undefined,
  group = groupPath(view, l.groupId),
): OverviewRow {
  const r = info?.lastRun ?? null
  const covered = info?.covered ?? null
  return {
    id: l.id,
    name: l.name,
    displayName: l.displayName,
    group,
    method: methodNames[l.rule.method],
    dataType: l.dataType,
    schedule: describeSchedule(l.schedule),
    enabled: l.enabled,
    state: r?.status ?? 'never',
    runId: r?.id ?? null,
    error: r?.error ?? null,
    lastAt: r ? (r.finishedAt ?? r.startedAt ?? r.createdAt) : null,
    durationMs: runDuration(r),
    coverage: covered && covered.total > 0 ? covered.users / covered.total : null,
    covered,
    // A disabled label is never scheduled (docs/model.md#label-types-and-schedules).
    nextRunAt: l.enabled ? (info?.nextRunAt ?? null) : null,
  }
}

/**
 * Rows built before, by label id, with what each was built from: a row is built again only when
 * its label (a value, replaced whole when it changes), its run info or its group's name changed.
 */
export type RowCache = ReadonlyMap<
  string,
  { label: ProjectedLabel; info: RunInfo | undefined; group: string; row: OverviewRow }
>

/**
 * Every label's row, in the projection's order: the rows of unchanged labels are the same objects
 * as in `cache` (a change to one label rebuilds one row, not thousands). Returns the new cache too.
 * `labels` is view.labels, or the same as a plain array (Workspace.labels).
 */
export function overviewRows(
  view: WorkspaceProjection,
  info: ReadonlyMap<string, RunInfo>,
  cache: RowCache,
  labels: readonly ProjectedLabel[] = view.labels,
): { rows: OverviewRow[]; cache: RowCache } {
  const next = new Map<string, { label: ProjectedLabel; info: RunInfo | undefined; group: string; row: OverviewRow }>()
  const paths = new Map<string, string>() // a group's path, read once per group (not per label)
  const rows = labels.map((l) => {
    const i = info.get(l.id)
    let group = paths.get(l.groupId)
    if (group === undefined) paths.set(l.groupId, (group = groupPath(view, l.groupId)))
    const had = cache.get(l.id)
    const entry =
      had && had.label === l && had.info === i && had.group === group
        ? had
        : { label: l, info: i, group, row: rowOf(view, l, i, group) }
    next.set(l.id, entry)
    return entry.row
  })
  return { rows, cache: next }
}

/** True when two run infos show the same in a row (an unchanged one keeps its row). */
export function sameRunInfo(a: RunInfo | undefined, b: RunInfo | undefined): boolean {
  if (a === b) return true
  if (!a || !b || a.nextRunAt !== b.nextRunAt) return false
  if (a.covered?.users !== b.covered?.users || a.covered?.total !== b.covered?.total) return false
  const x = a.lastRun,
    y = b.lastRun
  if (x === y) return true
  return (
    !!x &&
    !!y &&
    x.id === y.id &&
    x.status === y.status &&
    x.createdAt === y.createdAt &&
    x.startedAt === y.startedAt &&
    x.finishedAt === y.finishedAt &&
    x.error === y.error &&
    x.coveredUsers === y.coveredUsers &&
    x.totalUsers === y.totalUsers
  )
}

/**
 * The run info after GET /api/labels answered: the answer's, except a run the live channel
 * reported meanwhile (the newer of the two), and the entries that show the same kept as they were.
 */
export function mergeListed(
  cur: ReadonlyMap<string, RunInfo>,
  listed: ReadonlyArray<Pick<LabelView, 'id' | 'lastRun' | 'nextRunAt'>>,
): Map<string, RunInfo> {
  const next = new Map<string, RunInfo>()
  for (const v of listed) {
    const got = runInfoOf(v)
    const had = cur.get(v.id)
    const live = had?.lastRun
    const info = live && got.lastRun && live.id !== got.lastRun.id ? withRun(got, live) : got
    next.set(v.id, had && sameRunInfo(had, info) ? had : info)
  }
  return next
}

/**
 * What the server's next run of a label depends on (enabled, label type, schedule): when it
 * changes, or the label is new, the run info is read again (GET /api/labels); other edits don't.
 */
export function nextRunKey(l: Pick<Label, 'enabled' | 'labelType' | 'schedule'>): string {
  const s = l.schedule as { kind: string; at?: string; weekday?: number; day?: number }
  return `${l.enabled}|${l.labelType}|${s.kind}|${s.at ?? ''}|${s.weekday ?? ''}|${s.day ?? ''}`
}

const keys = new WeakMap<object, string>()
const keyOf = (l: ProjectedLabel): string => {
  let k = keys.get(l)
  if (k === undefined) keys.set(l, (k = nextRunKey(l)))
  return k
}

/** True when a label's next run is not what the run info was read for (a new label, a schedule change). */
export function runInfoStale(labels: readonly ProjectedLabel[], readFor: ReadonlyMap<string, string>): boolean {
  return labels.some((l) => readFor.get(l.id) !== keyOf(l))
}

export type SortKey =
  | 'name'
  | 'group'
  | 'method'
  | 'dataType'
  | 'schedule'
  | 'enabled'
  | 'state'
  | 'lastAt'
  | 'durationMs'
  | 'coverage'
  | 'nextRunAt'

export interface OverviewQuery {
  /** Matches the name, the display name or the group, case-insensitively. */
  text: string
  method: string
  state: RunState | ''
  enabled: '' | 'enabled' | 'disabled'
  sort: SortKey
  desc: boolean
}

export const defaultQuery: OverviewQuery = { text: '', method: '', state: '', enabled: '', sort: 'group', desc: false }

const stateOrder: Record<RunState, number> = { failed: 0, running: 1, queued: 2, succeeded: 3, never: 4 }

function sortValue(r: OverviewRow, k: SortKey): string | number | null {
  switch (k) {
    case 'lastAt':
    case 'nextRunAt':
      return r[k] === null ? null : Date.parse(r[k])
    case 'state':
      return stateOrder[r.state]
    case 'enabled':
      return r.enabled ? 0 : 1
    case 'durationMs':
    case 'coverage':
      return r[k]
    case 'name':
      return r.displayName.toLowerCase()
    default:
      return r[k].toLowerCase()
  }
}

/** The rows that match `q`, sorted by its column (empty values last either way, then by name). */
export function selectRows(rows: readonly OverviewRow[], q: OverviewQuery): OverviewRow[] {
  const needle = q.text.trim().toLowerCase()
  const kept = rows.filter(
    (r) =>
      (!needle ||
        r.name.toLowerCase().includes(needle) ||
        r.displayName.toLowerCase().includes(needle) ||
        r.group.toLowerCase().includes(needle)) &&
      (!q.method || r.method === q.method) &&
      (!q.state || r.state === q.state) &&
      (!q.enabled || r.enabled === (q.enabled === 'enabled')),
  )
  const dir = q.desc ? -1 : 1
  return kept
    .map((r) => ({ r, v: sortValue(r, q.sort) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) {
        if (a.v !== b.v) return a.v === null ? 1 : -1
      } else if (a.v !== b.v) return (a.v < b.v ? -1 : 1) * dir
      return a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0
    })
    .map((x) => x.r)
}

/** "1.2 s", "850 ms", "3 min 5 s" — how long a run took. */
export function formatDuration(ms: number | null, format: (n: number) => string): string {
  if (ms === null) return '—'
  if (ms < 1000) return `${format(Math.round(ms))} ms`
  if (ms < 60_000) return `${format(Math.round(ms / 100) / 10)} s`
  const min = Math.floor(ms / 60_000)
  return `${format(min)} min ${format(Math.round((ms % 60_000) / 1000))} s`
}
