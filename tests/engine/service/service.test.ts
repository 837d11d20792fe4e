import { afterAll, beforeAll, expect, it } from 'vitest'
import { EngineService } from '../../../engine/service.ts'
import type { Definition } from '../../../engine/api.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/** Every result crosses a worker boundary unchanged (comlink uses structured clone). */
const clonable = <T>(v: T): T => {
  expect(structuredClone(v)).toEqual(v)
  return v
}

describeEachDb('EngineService end to end', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(db)
    await svc.migrate()
    await svc.migrate() // idempotent
    const u = await svc.beginIngest('users', 'csv')
    await svc.pushIngest(u, 'user_id,city,age\nu1,Paris,30\nu2,Lyon,41\n')
    await svc.pushIngest(u, 'u3,Paris,25\nu4,Nice,52\n')
    expect(await svc.finishIngest(u)).toMatchObject({ committed: true, stored: 4 })
    const e = await svc.beginIngest('events', 'ndjson')
    const events = [
      ['u1', 'purchase', '2024-03-01T10:00:00Z', 'shoes', 50],
      ['u1', 'purchase', '2024-03-02T10:00:00Z', 'bags', 20],
      ['u1', 'purchase', '2024-03-03T10:00:00Z', 'shoes', 10],
      ['u2', 'purchase', '2024-03-02T10:00:00Z', 'bags', 99],
    ].map(([user_id, event, time, category, amount], i) =>
      JSON.stringify({ user_id, event, time, event_id: `e${i}`, properties: { category, amount } }),
    )
    await svc.pushIngest(e, events.join('\n'))
    expect(await svc.finishIngest(e)).toMatchObject({ committed: true, stored: 4 })
  })
  afterAll(() => db.dispose())

  const calc = async (labelId: string, definition: Definition, asOf = '2024-04-01T00:00:00Z') => {
    const r = clonable(await svc.createRun({ labelId, trigger: 'manual', asOf, definition }))
    const done = clonable(await svc.executeRun(r.id, { tz: 'UTC', timeoutMs: 30000 }))
    expect(done.status, done.error).toBe('succeeded')
    return done
  }

  it('describes the data schema', async () => {
    const s = clonable(await svc.schema())
    expect(s.userAttributes.map((a) => a.name).sort()).toEqual(['age', 'city'])
    expect(s.events.map((x) => x.name)).toEqual(['purchase'])
  })

  it('validates definitions against the catalogue', async () => {
    await expect(
      svc.validateDefinition({
        dataType: 'number',
        rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } },
      }),
    ).rejects.toMatchObject({ code: 'invalid' })
    await svc.validateDefinition({
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    })
  })

  it('calculates compiled rules of several methods and data types', async () => {
    await calc('count', {
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    })
    expect(
      clonable(await svc.distribution('count', 'number', { sort: 'value', order: 'asc' }))?.items.map((i) => [
        i.value,
        i.users,
      ]),
    ).toEqual([
      [0, 2],
      [1, 1],
      [3, 1],
    ])
    await calc('fav', {
      dataType: 'collection',
      rule: { method: 'preference', event: 'purchase', property: 'category', top: 2 },
    })
    expect((await svc.distribution('fav', 'collection', {}))?.items.map((i) => [i.value, i.users])).toEqual([
      ['bags', 2],
      ['shoes', 1],
    ])
    await calc('last', {
      dataType: 'date',
      rule: { method: 'first_last', which: 'last', event: 'purchase', property: '$time' },
    })
    expect((await svc.audience('last', 'date', {})).users).toEqual([
      { userId: 'u1', value: '2024-03-03T10:00:00.000Z' },
      { userId: 'u2', value: '2024-03-02T10:00:00.000Z' },
    ])
    await calc('paris', {
      dataType: 'boolean',
      rule: {
        method: 'custom',
        values: [{ value: true, when: { attribute: 'city', op: 'eq', value: 'Paris' } }],
        otherwise: false,
      },
    })
    expect(clonable(await svc.userLabels('u3'))).toEqual([
      { labelId: 'count', value: 0, asOf: '2024-04-01T00:00:00.000Z' },
      { labelId: 'paris', value: true, asOf: '2024-04-01T00:00:00.000Z' },
    ])
    // History keeps numbers per exact value, as the distribution (at most 50 distinct values).
    expect(clonable(await svc.history('count', {})).items.map((i) => [i.date, i.value, i.users])).toEqual([
      ['2024-04-01', '0', 2],
      ['2024-04-01', '1', 1],
      ['2024-04-01', '3', 1],
    ])
  })

  it('previews, imports and deletes through the facade', async () => {
    expect(
      clonable(
        await svc.preview(
          {
            dataType: 'number',
            rule: { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' } },
          },
          { tz: 'UTC' },
        ),
      ).items,
    ).toHaveLength(3)
    const r = clonable(
      await svc.importValues({
        labelId: 'imp',
        dataType: 'string',
        csv: 'user_id,value\nu4,=cmd\n',
        mode: 'replace',
        tz: 'UTC',
        definition: { dataType: 'string', rule: { method: 'import' } },
      }),
    )
    expect(r).toMatchObject({ committed: true, imported: 1 })
    expect(clonable(await svc.lastRuns(['imp']))['imp']?.trigger).toBe('import')
    await svc.deleteLabelData('imp')
    expect(await svc.distribution('imp', 'string', {})).toBeNull()
    expect(await svc.listRuns('imp')).toEqual([])
  })

  it('an aborted ingest stores nothing and its session is gone', async () => {
    const s = await svc.beginIngest('users', 'csv')
    await svc.pushIngest(s, 'user_id,city\nu9,Rome\n')
    await svc.abortIngest(s)
    await expect(svc.finishIngest(s)).rejects.toMatchObject({ code: 'not_found' })
    expect((await db.query(`SELECT 1 FROM users WHERE user_id = 'u9'`)).rows).toHaveLength(0)
  })
})

describeEachDb('EngineService over the demo workspace', (kind) => {
  it('loads the seeded demo and calculates a label over it', async () => {
    const db = await newDb(kind)
    try {
      const svc = new EngineService(db)
      await svc.migrate()
      const loaded = clonable(await svc.loadDemo({ users: 200, seed: 7, now: '2024-06-01T00:00:00Z' }))
      expect(loaded.users).toBe(200)
      expect(loaded.events).toBeGreaterThan(0)
      const event = (await svc.schema()).events[0]?.name as string
      const r = await svc.createRun({
        labelId: 'd',
        trigger: 'create',
        asOf: '2024-06-01T00:00:00Z',
        definition: { dataType: 'number', rule: { method: 'metric', event, measure: { agg: 'count' } } },
      })
      const done = await svc.executeRun(r.id, { tz: 'Europe/Paris' })
      expect(done).toMatchObject({ status: 'succeeded', totalUsers: 200, coveredUsers: 200 })
      const d = await svc.distribution('d', 'number', {})
      expect(d?.items.reduce((s, i) => s + i.users, 0)).toBe(200)
    } finally {
      await db.dispose()
    }
  })
})
