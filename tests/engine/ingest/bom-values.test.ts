import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { EngineService } from '../../../engine/service.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

const B = '\uFEFF'

/** The values every engine must answer: a leading U+FEFF is part of the value. */
describeEachDb('values with a leading U+FEFF round-trip byte-exact', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(db)
    await svc.migrate()
    // CSV users: a body BOM (dropped), then FEFF at the start of plain and quoted values, and
    // a chunk that starts with FEFF inside a record.
    const u = await svc.beginIngest('users', 'csv')
    await svc.pushIngest(u, `${B}user_id,city\nu1,Paris\nu2,`)
    await svc.pushIngest(u, `${B}Paris\nu3,"${B}Lyon"\n`)
    expect(await svc.finishIngest(u)).toMatchObject({ committed: true, stored: 3 })
    // NDJSON events, split so a chunk starts with FEFF inside a value.
    const ev = (user_id: string, time: string, page: string, i: number) =>
      JSON.stringify({ user_id, event: 'view', time, event_id: `n${i}`, properties: { page } })
    const e = await svc.beginIngest('events', 'ndjson')
    await svc.pushIngest(
      e,
      [ev('u1', '2024-03-01T10:00:00Z', 'home', 1), ev('u1', '2024-03-02T10:00:00Z', `${B}home`, 2)].join('\n') +
        '\n{"user_id":"u2","event":"view","time":"2024-03-01T10:00:00Z","event_id":"n3","properties":{"page":"',
    )
    await svc.pushIngest(e, `${B}home"}}\n` + ev('u2', '2024-03-02T10:00:00Z', 'home', 4) + '\n')
    expect(await svc.finishIngest(e)).toMatchObject({ committed: true, stored: 4 })
    // CSV events of the same event name, FEFF starting a chunk and a quoted value.
    const c = await svc.beginIngest('events', 'csv')
    await svc.pushIngest(c, 'user_id,event,time,event_id,page\nu3,view,2024-03-01T10:00:00Z,c1,')
    await svc.pushIngest(c, `${B}home\nu3,view,2024-03-01T09:00:00Z,c2,"${B}${B}home"\n`)
    expect(await svc.finishIngest(c)).toMatchObject({ committed: true, stored: 2 })
  })
  afterAll(() => db.dispose())

  const calc = async (labelId: string, definition: Definition) => {
    const r = await svc.createRun({ labelId, trigger: 'manual', asOf: '2024-04-01T00:00:00Z', definition })
    const done = await svc.executeRun(r.id, { tz: 'UTC', timeoutMs: 30000 })
    expect(done.status, done.error).toBe('succeeded')
  }
  const items = async (labelId: string) =>
    (await svc.distribution(labelId, 'string', { sort: 'value', order: 'asc' }))?.items.map((i) => [i.value, i.users])
  const audience = async (labelId: string) =>
    (await svc.audience(labelId, 'string', {})).users.map((x) => [x.userId, x.value])

  it('first_last keeps FEFF-prefixed values apart from the plain ones (no history_pkey clash)', async () => {
    await calc('last', {
      dataType: 'string',
      rule: { method: 'first_last', which: 'last', event: 'view', property: 'page' },
    })
    expect(await audience('last')).toEqual([
      ['u1', `${B}home`],
      ['u2', 'home'],
      ['u3', `${B}home`],
    ])
    expect(await items('last')).toEqual([
      ['home', 1],
      [`${B}home`, 2],
    ])
    const h = (await svc.history('last', {})).items.map((i) => [i.value, i.users]).sort()
    expect(h).toEqual([
      ['home', 1],
      [`${B}home`, 2],
    ])
    await calc('first', {
      dataType: 'string',
      rule: { method: 'first_last', which: 'first', event: 'view', property: 'page' },
    })
    expect(await audience('first')).toEqual([
      ['u1', 'home'],
      ['u2', `${B}home`],
      ['u3', `${B}${B}home`],
    ])
  })

  it('preference counts each spelling as its own value', async () => {
    await calc('fav', {
      dataType: 'collection',
      rule: { method: 'preference', event: 'view', property: 'page', top: 2 },
    })
    const a = (await svc.audience('fav', 'collection', {})).users.map((x) => [
      x.userId,
      [...(x.value as string[])].sort(),
    ])
    expect(a).toEqual([
      ['u1', ['home', `${B}home`]],
      ['u2', ['home', `${B}home`]],
      ['u3', [`${B}home`, `${B}${B}home`]],
    ])
  })

  it('custom rules compare and produce FEFF values exactly', async () => {
    await calc('city', {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          { value: `${B}bom`, when: { attribute: 'city', op: 'eq', value: `${B}Paris` } },
          { value: 'plain', when: { attribute: 'city', op: 'eq', value: 'Paris' } },
        ],
        otherwise: 'other',
      },
    })
    expect(await audience('city')).toEqual([
      ['u1', 'plain'],
      ['u2', `${B}bom`],
      ['u3', 'other'],
    ])
    expect(await items('city')).toEqual([
      ['other', 1],
      ['plain', 1],
      [`${B}bom`, 1],
    ])
    expect((await svc.audience('city', 'string', { value: `${B}bom` })).users.map((x) => x.userId)).toEqual(['u2'])
  })

  it('stored values keep their FEFF when read back as text and in the data sample', async () => {
    const col = (
      await db.query<{ col: string }>(`SELECT col FROM catalogue_columns WHERE owner = '' AND name = 'city'`)
    ).rows[0]?.col
    expect(col).toMatch(/^c\d+$/)
    const r = await db.query<{ user_id: string; city: string }>(
      `SELECT user_id, ${col} AS city FROM users ORDER BY uid`,
    )
    expect(r.rows.map((x) => [x.user_id, x.city])).toEqual([
      ['u1', 'Paris'],
      ['u2', `${B}Paris`],
      ['u3', `${B}Lyon`],
    ])
    expect(JSON.stringify(await svc.sample({ users: 10 }))).toContain(JSON.stringify(`${B}Lyon`))
  })
})
