import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RecordVersionInput } from '../../engine/api.ts'
import type { LabelDefinition } from '../../shared/rule-diff.ts'
import { describeEachDb } from '../helpers/db.ts'
import { newService, type Fixture } from './calc/fixture.ts'

const def = (days: number, extra: Partial<LabelDefinition> = {}): LabelDefinition => ({
  name: 'buyers',
  displayName: 'Buyers',
  groupId: 'default',
  dataType: 'number',
  labelType: 'dynamic',
  schedule: { kind: 'daily', at: '06:00' },
  enabled: true,
  description: '',
  rule: { method: 'metric', event: 'purchase', window: { lastDays: days }, measure: { agg: 'count' } },
  ...extra,
})

describeEachDb('label versions (engine store)', (kind) => {
  let f: Fixture
  let seq = 0
  beforeAll(async () => {
    f = await newService(kind)
  })
  afterAll(() => f.dispose())
  const rec = (
    labelId: string,
    kind: RecordVersionInput['kind'],
    definition: LabelDefinition,
    extra: Partial<RecordVersionInput> = {},
  ) =>
    f.svc.recordVersion({
      labelId,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq++)).toISOString(),
      actor: 'eve',
      via: 'rest',
      kind,
      definition,
      ...extra,
    })

  it('numbers versions per label, skips changes of nothing versioned, marks a return as restored', async () => {
    expect(await rec('a', 'created', def(30))).toMatchObject({ n: 1, kind: 'created' })
    expect(await rec('a', 'updated', def(30, { groupId: 'g2' }))).toBeNull()
    expect(await rec('a', 'updated', def(7))).toMatchObject({
      n: 2,
      kind: 'updated',
      changes: [expect.objectContaining({ text: 'window changed from last 30 days to last 7 days' })],
    })
    expect(await rec('b', 'created', def(1))).toMatchObject({ n: 1 })
    expect(await rec('a', 'updated', def(30))).toMatchObject({ n: 3, kind: 'restored', restoredFrom: 1 })
    expect((await f.svc.listVersions('a')).map((v) => v.n)).toEqual([3, 2, 1])
    expect((await f.svc.getVersion('a', 2))?.definition).toEqual(def(7))
    expect(await f.svc.getVersion('a', 9)).toBeNull()
  })

  it('a label without history gets its previous definition as a baseline before its first change', async () => {
    const v = await rec('old', 'updated', def(7), { previous: def(30), previousAt: '2025-01-01T00:00:00.000Z' })
    expect(v).toMatchObject({ n: 2, kind: 'updated' })
    const [, first] = await f.svc.listVersions('old')
    expect(first).toMatchObject({ n: 1, kind: 'baseline', actor: 'unknown', at: '2025-01-01T00:00:00.000Z' })
    // A baseline only starts a history; it never adds to one.
    expect(await rec('old', 'baseline', def(1))).toBeNull()
    expect(await f.svc.labelsWithVersions(['old', 'none'])).toEqual(['old'])
  })

  it("keeps a deleted label's history; the same id back starts again from created", async () => {
    await rec('d', 'created', def(3))
    expect(await rec('d', 'deleted', def(3))).toMatchObject({ n: 2, kind: 'deleted', changes: [] })
    expect(await rec('d', 'deleted', def(3))).toBeNull()
    expect(await f.svc.deleteLabelData('d')).toBeUndefined()
    expect(await rec('d', 'created', def(3))).toMatchObject({ n: 3, kind: 'created' })
    expect((await f.svc.listVersions('d')).map((v) => v.kind)).toEqual(['created', 'deleted', 'created'])
  })

  it('concurrent records of one label get distinct consecutive numbers', async () => {
    await rec('c', 'created', def(1))
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => rec('c', 'updated', def(100 + i))))
    expect(all.map((v) => v!.n).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9])
  })
})
