import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { ensureDefaultGroup } from '../../shared/doc/default-group.ts'
import { createGroup, renameGroup } from '../../shared/doc/group-operations.ts'
import { createLabel, updateLabel } from '../../shared/doc/label-operations.ts'
import { projectWorkspace, trackProjection } from '../../shared/doc/projection.ts'
import type { Run } from '../../client/api/types.ts'
import {
  defaultQuery,
  formatDuration,
  mergeListed,
  nextRunKey,
  overviewRows,
  rowOf,
  runInfoOf,
  runInfoStale,
  selectRows,
  withRun,
  type RunInfo,
} from '../../client/features/overview/overview-rows.ts'

const o = { kind: 'local' as const, actor: 'test' }

const run = (labelId: string, status: Run['status'], over: Partial<Run> = {}): Run => ({
  id: `r_${labelId}_${status}`,
  labelId,
  status,
  trigger: 'manual',
  asOf: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: status === 'succeeded' || status === 'failed' ? '2026-01-01T00:00:03.500Z' : null,
  totalUsers: status === 'succeeded' ? 200 : null,
  coveredUsers: status === 'succeeded' ? 50 : null,
  ...over,
})

function workspace() {
  return projectWorkspace(workspaceDoc().doc)
}

function workspaceDoc() {
  const doc = new Y.Doc()
  ensureDefaultGroup(doc)
  const value = createGroup(doc, { name: 'Value' }, o)
  const spend = createGroup(doc, { name: 'Spend', parentId: value.id }, o)
  const mk = (name: string, groupId: string, enabled = true) =>
    createLabel(
      doc,
      {
        name,
        displayName: name.toUpperCase(),
        groupId,
        dataType: 'number',
        labelType: 'dynamic',
        enabled,
        schedule: { kind: 'daily', at: '02:00' },
        rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
      },
      o,
      { id: `l_${name}` },
    )
  mk('alpha', spend.id)
  mk('beta', 'default', false)
  mk('gamma', value.id)
  return { doc, value }
}

describe('overview rows', () => {
  const view = workspace()
  const info: Record<string, RunInfo> = {
    l_alpha: runInfoOf({ lastRun: run('l_alpha', 'succeeded'), nextRunAt: '2026-01-02T02:00:00.000Z' }),
    l_beta: runInfoOf({ lastRun: run('l_beta', 'failed', { error: 'boom' }), nextRunAt: null }),
  }
  const rows = view.labels.map((l) => rowOf(view, l, info[l.id]))
  const byName = (n: string) => rows.find((r) => r.name === n)!

  it('shows group path, method, schedule, last run with duration and coverage, and no next run when disabled', () => {
    expect(byName('alpha')).toMatchObject({
      group: 'Value › Spend',
      method: 'Basic metric value',
      schedule: 'once per day at 02:00',
      state: 'succeeded',
      durationMs: 2500,
      coverage: 0.25,
      nextRunAt: '2026-01-02T02:00:00.000Z',
    })
    expect(byName('beta')).toMatchObject({ state: 'failed', error: 'boom', enabled: false, nextRunAt: null })
    expect(byName('gamma')).toMatchObject({ state: 'never', lastAt: null, coverage: null })
  })

  it('sorts by any column either way, empty values last; filters by text, method, run state and status', () => {
    const names = (q: Partial<typeof defaultQuery>) => selectRows(rows, { ...defaultQuery, ...q }).map((r) => r.name)
    expect(names({ sort: 'name' })).toEqual(['alpha', 'beta', 'gamma'])
    expect(names({ sort: 'name', desc: true })).toEqual(['gamma', 'beta', 'alpha'])
    expect(names({ sort: 'coverage' })).toEqual(['alpha', 'beta', 'gamma'])
    expect(names({ sort: 'durationMs', desc: true })).toEqual(['alpha', 'beta', 'gamma'])
    expect(names({ sort: 'state' })).toEqual(['beta', 'alpha', 'gamma'])
    expect(names({ sort: 'group' })).toEqual(['beta', 'gamma', 'alpha'])
    expect(names({ text: 'spend' })).toEqual(['alpha'])
    expect(names({ text: 'GAM' })).toEqual(['gamma'])
    expect(names({ state: 'never' })).toEqual(['gamma'])
    expect(names({ enabled: 'disabled' })).toEqual(['beta'])
    expect(names({ method: 'Import' })).toEqual([])
  })

  it('takes live run messages, keeps the last coverage while a run is going, and ignores older runs', () => {
    const running = withRun(
      info.l_alpha,
      run('l_alpha', 'running', { id: 'r2', createdAt: '2026-01-02T00:00:00.000Z' }),
    )
    expect(running.lastRun?.status).toBe('running')
    expect(running.covered).toEqual({ users: 50, total: 200 })
    expect(running.nextRunAt).toBe('2026-01-02T02:00:00.000Z')
    const late = withRun(running, run('l_alpha', 'succeeded'))
    expect(late).toBe(running)
    const done = withRun(
      running,
      run('l_alpha', 'succeeded', { id: 'r2', createdAt: '2026-01-02T00:00:00.000Z', coveredUsers: 80 }),
    )
    expect(done.covered).toEqual({ users: 80, total: 200 })
    expect(withRun(undefined, run('l_new', 'queued')).lastRun?.status).toBe('queued')
  })

  it('writes durations', () => {
    const f = (n: number) => String(n)
    expect(formatDuration(null, f)).toBe('—')
    expect(formatDuration(850, f)).toBe('850 ms')
    expect(formatDuration(2500, f)).toBe('2.5 s')
    expect(formatDuration(185_000, f)).toBe('3 min 5 s')
  })
})

describe('overview rows kept between changes (issue 9, 5,000 labels)', () => {
  const { doc, value } = workspaceDoc()
  const tracked = trackProjection(doc)
  let view = tracked.project(null)
  const info = new Map<string, RunInfo>([
    ['l_alpha', runInfoOf({ lastRun: run('l_alpha', 'succeeded'), nextRunAt: '2026-01-02T02:00:00.000Z' })],
  ])
  let built = overviewRows(view, info, new Map())
  const row = (name: string) => built.rows.find((r) => r.name === name)!

  it('builds again only the row of the label that changed, with the change', () => {
    const before = built.rows
    updateLabel(doc, 'l_beta', { displayName: 'Beta renamed' }, o)
    view = tracked.project(view)
    built = overviewRows(view, info, built.cache)
    expect(row('beta').displayName).toBe('Beta renamed')
    expect(row('beta')).not.toBe(before.find((r) => r.name === 'beta'))
    expect(row('alpha')).toBe(before.find((r) => r.name === 'alpha'))
    expect(row('gamma')).toBe(before.find((r) => r.name === 'gamma'))
  })

  it("builds again the rows of a renamed group's labels and of a label whose runs changed", () => {
    const before = built.rows
    renameGroup(doc, value.id, 'Worth', o)
    view = tracked.project(view)
    built = overviewRows(view, info, built.cache)
    expect(row('alpha').group).toBe('Worth › Spend')
    expect(row('gamma').group).toBe('Worth')
    expect(row('beta')).toBe(before.find((r) => r.name === 'beta'))
    const running = new Map(info).set('l_beta', withRun(undefined, run('l_beta', 'running')))
    const again = overviewRows(view, running, built.cache)
    expect(again.rows.find((r) => r.name === 'beta')?.state).toBe('running')
    expect(again.rows.find((r) => r.name === 'alpha')).toBe(row('alpha'))
  })

  it('keeps the run info that shows the same when GET /api/labels answers again, with live runs newer than it', () => {
    const listed = [
      { id: 'l_alpha', lastRun: run('l_alpha', 'succeeded'), nextRunAt: '2026-01-02T02:00:00.000Z' },
      { id: 'l_gamma', lastRun: null, nextRunAt: null },
    ]
    const first = mergeListed(new Map(), listed)
    const again = mergeListed(first, structuredClone(listed))
    expect(again.get('l_alpha')).toBe(first.get('l_alpha'))
    expect(again.get('l_gamma')).toBe(first.get('l_gamma'))
    const live = new Map(first).set(
      'l_alpha',
      withRun(first.get('l_alpha'), run('l_alpha', 'running', { id: 'r9', createdAt: '2026-01-03T00:00:00.000Z' })),
    )
    expect(mergeListed(live, listed).get('l_alpha')?.lastRun?.id).toBe('r9')
    const moved = mergeListed(first, [{ ...listed[0]!, nextRunAt: '2026-01-03T02:00:00.000Z' }])
    expect(moved.get('l_alpha')).not.toBe(first.get('l_alpha'))
  })

  it('reads the runs again for a new label or a schedule change, not for other edits', () => {
    const readFor = new Map(view.labels.map((l) => [l.id, nextRunKey(l)]))
    expect(runInfoStale(view.labels, readFor)).toBe(false)
    updateLabel(doc, 'l_alpha', { description: 'only words' }, o)
    view = tracked.project(view)
    expect(runInfoStale(view.labels, readFor)).toBe(false)
    updateLabel(doc, 'l_alpha', { schedule: { kind: 'weekly', weekday: 2, at: '02:00' } }, o)
    view = tracked.project(view)
    expect(runInfoStale(view.labels, readFor)).toBe(true)
    readFor.set('l_alpha', nextRunKey(view.labels.find((l) => l.id === 'l_alpha')!))
    updateLabel(doc, 'l_gamma', { enabled: false }, o)
    view = tracked.project(view)
    expect(runInfoStale(view.labels, readFor)).toBe(true)
  })
})
