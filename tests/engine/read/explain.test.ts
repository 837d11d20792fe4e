import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition, ExplainCondition, Explanation } from '../../../engine/api.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { loadLabelState } from '../../../engine/read/label-state.ts'
import { EngineService } from '../../../engine/service.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { makeRng } from '../../../shared/prng.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { ASOF, generateData, loadData } from '../../helpers/rule-data.ts'
import { importRows } from '../calc/fixture.ts'

const asOf = ASOF.toISOString()

/** One label per creation method and per shape of reason (nested conditions, every measure kind, both first/last kinds, top 1 and top n). */
const labels: Record<string, Definition> = {
  tiers: {
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [
        {
          value: 'gold',
          when: {
            all: [
              { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 3 },
              {
                any: [
                  { attribute: 'vip', op: 'eq', value: true },
                  { attribute: 'age', op: 'gte', value: 30 },
                ],
              },
            ],
          },
        },
        {
          value: 'silver',
          when: {
            any: [
              { event: 'purchase', measure: { agg: 'sum', property: 'amount' }, op: 'gt', value: 150 },
              { not: { event: 'view', where: [{ property: 'page', op: 'eq', value: 'cart' }], op: 'eq', value: 0 } },
            ],
          },
        },
        {
          value: 'avg',
          when: { event: 'purchase', measure: { agg: 'avg', property: 'amount' }, op: 'between', value: [20, 80] },
        },
        { value: 'paris', when: { attribute: 'city', op: 'in', value: ['Paris', 'Rome'] } },
      ],
      otherwise: 'browser',
    },
  },
  segments: {
    dataType: 'collection',
    rule: {
      method: 'custom',
      values: [
        {
          value: ['a', 'b'],
          when: { event: 'login', measure: { agg: 'days' }, window: { lastDays: 14 }, op: 'gte', value: 2 },
        },
        { value: ['c'], when: { attribute: 'signup', op: 'gte', value: '2024-01-01' } },
      ],
    },
  },
  spend: {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'purchase',
      where: [{ property: 'paid', op: 'eq', value: true }],
      window: { lastDays: 30 },
      measure: { agg: 'sum', property: 'amount' },
    },
  },
  avg_amount: {
    dataType: 'number',
    rule: { method: 'metric', event: 'purchase', measure: { agg: 'avg', property: 'amount' } },
  },
  view_days: {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'view',
      measure: { agg: 'days' },
      window: { from: '2024-03-01', to: '2024-03-15' },
    },
  },
  buckets: {
    dataType: 'string',
    rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1, 5, 10] },
  },
  named_buckets: {
    dataType: 'string',
    rule: {
      method: 'distribution',
      event: 'purchase',
      measure: { agg: 'max', property: 'amount' },
      boundaries: [50, 150],
      names: ['small', 'medium', 'large'],
    },
  },
  last_product: {
    dataType: 'string',
    rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'product' },
  },
  first_time: {
    dataType: 'date',
    rule: { method: 'first_last', which: 'first', event: 'purchase', property: '$time', window: { lastDays: 30 } },
  },
  fav: { dataType: 'string', rule: { method: 'preference', event: 'purchase', property: 'product' } },
  fav_pages: {
    dataType: 'collection',
    rule: { method: 'preference', event: 'view', property: 'page', by: { agg: 'sum', property: 'duration' }, top: 2 },
  },
  imported: { dataType: 'string', rule: { method: 'import' } },
}

/** Every condition of a tree, depth first. */
function conditions(c: ExplainCondition): ExplainCondition[] {
  if (c.kind === 'all' || c.kind === 'any') return [c, ...c.items.flatMap(conditions)]
  if (c.kind === 'not') return [c, ...conditions(c.item)]
  return [c]
}

/** The reason must produce the value: checks each method's reason against the computed value. */
function checkReason(x: Explanation): void {
  const r = x.reason
  switch (r.method) {
    case 'custom': {
      for (const l of r.layers) {
        for (const c of conditions(l.condition)) {
          if (c.kind === 'all') expect(c.result).toBe(c.items.every((i) => i.result))
          if (c.kind === 'any') expect(c.result).toBe(c.items.some((i) => i.result))
          if (c.kind === 'not') expect(c.result).toBe(!c.item.result)
          expect(c.text).toMatch(c.result ? /✓$/ : /✗$/)
        }
      }
      const layer = r.matchedLayer === null ? null : r.layers[r.matchedLayer]
      const v = layer ? layer.value : r.otherwise
      expect(x.computed).toEqual(v)
      break
    }
    case 'metric':
      expect(x.computed).toEqual(r.measured === null ? null : expect.closeTo(r.measured, 6))
      if (r.measure === 'count') expect(r.measured).toBe(r.events.count)
      break
    case 'distribution':
      expect(x.computed).toEqual(r.bucket?.name ?? null)
      break
    case 'first_last':
      expect(x.computed).toEqual(r.picked?.value ?? null)
      if (r.picked) expect(r.events.count).toBeGreaterThan(0)
      break
    case 'preference': {
      const chosen = r.ranking.filter((v) => v.chosen).map((v) => v.value)
      expect(x.computed).toEqual(r.top === 1 ? (chosen[0] ?? null) : chosen.length ? chosen : null)
      break
    }
    case 'import':
      expect(x.computed).toEqual(x.stored)
      break
  }
}

describeEachDb('explain: a customer value, with its reason, agrees with the stored result', (kind) => {
  let db: TestDb
  let svc: EngineService
  const data = generateData(11, { users: 300, events: 5000 })
  beforeAll(async () => {
    db = await newDb(kind)
    await loadData(db, data)
    svc = new EngineService(db)
    await svc.migrate()
    for (const [id, def] of Object.entries(labels)) {
      if (def.rule.method === 'import') {
        const rows = data.users
          .filter((_, i) => i % 3 === 0)
          .map((u, i) => [u.user_id, `v${i % 4}`] as [string, string])
        await importRows(svc, id, 'string', rows)
        continue
      }
      const run = await svc.createRun({ labelId: id, trigger: 'manual', asOf, definition: def })
      const done = await svc.executeRun(run.id, { tz: 'Europe/Paris' })
      expect(done.status, `${id}: ${done.error}`).toBe('succeeded')
    }
  }, 240_000)
  afterAll(() => db?.dispose())

  /** user_id → stored value, read straight from the result table. */
  async function storedValues(labelId: string): Promise<Map<string, unknown>> {
    const s = await loadLabelState(db, labelId)
    const r = await db.query<{ user_id: string; v: unknown }>(
      `SELECT u.user_id, to_jsonb(r.value) AS v FROM ${s!.table} r JOIN users u USING (uid)`,
    )
    return new Map(r.rows.map((x) => [x.user_id, x.v]))
  }

  for (const [id, def] of Object.entries(labels)) {
    it(`${def.rule.method} (${id}): 200 random customers`, async () => {
      const stored = await storedValues(id)
      const rng = makeRng(id.length * 7919 + 1)
      const users = [...data.users]
      for (let i = users.length - 1; i > 0; i--) {
        const j = rng.int(0, i)
        ;[users[i], users[j]] = [users[j]!, users[i]!]
      }
      users.length = 200
      let covered = 0
      for (const u of users) {
        const x = await svc.explain(id, u.user_id, { tz: 'UTC', definition: def })
        const want = stored.get(u.user_id)
        const norm = (v: unknown) =>
          def.dataType === 'date' && typeof v === 'string' ? new Date(v).toISOString() : (v ?? null)
        expect(x.stored, u.user_id).toEqual(norm(want))
        expect(x.computed, u.user_id).toEqual(x.stored)
        expect(x.agrees).toBe(true)
        if (def.rule.method !== 'import') expect(x.run?.asOf).toBe(asOf)
        expect(x.definitionChanged).toBe(false)
        // The only notes: the customer's events after asOf, which the run could not count (the data has some).
        expect(x.notes).toEqual(
          x.newerEvents.filter((n) => n.count > 0).map(() => expect.stringMatching(/not counted/)),
        )
        expect(x.summary.length).toBeGreaterThan(0)
        checkReason(x)
        if (x.stored !== null) covered++
      }
      // The sample exercises both sides: customers with and without a value (where the method has both).
      expect(covered).toBeGreaterThan(0)
    }, 120_000)
  }

  it('counts: a behaviour condition shows the measured value and the events behind it', async () => {
    const stored = await storedValues('tiers')
    const gold = [...stored].find(([, v]) => v === 'gold')
    expect(gold).toBeDefined()
    const x = await svc.explain('tiers', gold![0], { tz: 'UTC' })
    if (x.reason.method !== 'custom') throw new Error('custom expected')
    expect(x.reason.matchedLayer).toBe(0)
    const first = x.reason.layers[0]!.condition
    if (first.kind !== 'all') throw new Error('all expected')
    const count = first.items[0]!
    if (count.kind !== 'behaviour') throw new Error('behaviour expected')
    // The measured count is the number of the customer's purchases in the 30 days before asOf.
    const from = ASOF.getTime() - 30 * 86_400_000
    const mine = data.events.filter(
      (e) => e.user_id === gold![0] && e.event === 'purchase' && e.time >= from && e.time < ASOF.getTime(),
    )
    expect(count.measured).toBe(mine.length)
    expect(count.events.count).toBe(mine.length)
    expect(count.events.first).toBe(new Date(Math.min(...mine.map((e) => e.time))).toISOString())
    expect(count.events.last).toBe(new Date(Math.max(...mine.map((e) => e.time))).toISOString())
    expect(count.events.from).toBe(new Date(from).toISOString())
    expect(count.events.to).toBe(asOf)
    expect(count.events.recent.length).toBe(Math.min(5, mine.length))
    expect(count.text).toBe(`count of purchase in the last 30 days = ${mine.length} ≥ 3 ✓`)
  })

  it('a {from,to} window ends at its own end, not at the asOf', async () => {
    const x = await svc.explain('view_days', data.users[0]!.user_id, { tz: 'UTC' })
    if (x.reason.method !== 'metric') throw new Error('metric expected')
    // The explanation follows the run, which read the window's dates as Europe/Paris days (UTC+1).
    expect(x.reason.events.from).toBe('2024-02-29T23:00:00.000Z')
    expect(x.reason.events.to).toBe('2024-03-14T23:00:00.000Z')
  })

  it('says when the customer does not exist', async () => {
    const e = await svc.explain('tiers', 'nobody-here', { tz: 'UTC' }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(LabelsError)
    expect((e as LabelsError).code).toBe('not_found')
    expect((e as LabelsError).path).toBe('/params/userId')
  })

  it('a label without a run is explained with its current rule as of now', async () => {
    const def = labels.spend as Definition
    const x = await svc.explain('never_run', 'u1', { tz: 'UTC', definition: def })
    expect(x.run).toBeNull()
    expect(x.stored).toBeNull()
    expect(x.notes[0]).toMatch(/no successful run/)
    checkReason(x)
  })

  it('an edited rule is reported: the explanation follows the run', async () => {
    const edited: Definition = {
      dataType: 'number',
      rule: { ...(labels.spend!.rule as object), window: { lastDays: 7 } } as Definition['rule'],
    }
    const x = await svc.explain('spend', 'u1', { tz: 'UTC', definition: edited })
    expect(x.definitionChanged).toBe(true)
    expect(x.notes.some((n) => /edited after this run/.test(n))).toBe(true)
    if (x.reason.method !== 'metric') throw new Error('metric expected')
    expect(x.reason.events.scope).toBe('purchase where paid = true in the last 30 days')
  })

  // Last: it changes the data.
  it('says when the stored run is older than the data', async () => {
    const stored = await storedValues('buckets')
    const who = data.users.find((u) => stored.get(u.user_id) === '[1,5)')!.user_id
    const before = await svc.explain('buckets', who, { tz: 'UTC' })
    expect(before.agrees).toBe(true)
    // Late events: 10 purchases before asOf (the value changes) and 2 after it (not counted).
    const late = [
      ...Array.from({ length: 10 }, (_, i) => ({ t: ASOF.getTime() - (i + 1) * 3_600_000, id: `late${i}` })),
      { t: ASOF.getTime() + 3_600_000, id: 'after1' },
      { t: ASOF.getTime() + 7_200_000, id: 'after2' },
    ]
    await ingestUserRecords(db, [{ user_id: who, properties: {} }])
    const r = await ingestEventRecords(
      db,
      late.map((e) => ({
        user_id: who,
        event: 'purchase',
        time: new Date(e.t).toISOString(),
        event_id: e.id,
        properties: {},
      })),
    )
    expect(r.committed).toBe(true)
    const x = await svc.explain('buckets', who, { tz: 'UTC' })
    expect(x.stored).toBe('[1,5)')
    expect(x.computed).toBe('[10,+∞)')
    expect(x.agrees).toBe(false)
    const after = [
      ...data.events.filter((e) => e.user_id === who && e.event === 'purchase').map((e) => e.time),
      ...late.map((e) => e.t),
    ].filter((t) => t >= ASOF.getTime())
    expect(x.newerEvents).toEqual([
      { event: 'purchase', count: after.length, last: new Date(Math.max(...after)).toISOString() },
    ])
    expect(after.length).toBeGreaterThanOrEqual(2)
    expect(x.notes.join('\n')).toMatch(/older than this customer's data/)
    expect(x.notes.join('\n')).toMatch(new RegExp(`${after.length} purchase events .* not counted`))
    checkReason(x)
  })
})
