import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, importRows, newService, type Fixture } from '../calc/fixture.ts'

describeEachDb('audience and per-user lookup', (kind) => {
  let f: Fixture
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 25)
    await importRows(
      f.svc,
      'S',
      'string',
      Array.from({ length: 25 }, (_, i) => [`u${i + 1}`, i % 3 === 0 ? 'gold' : 'silver'] as [string, string]),
    )
    await importRows(f.svc, 'N', 'number', [
      ['u1', '5'],
      ['u2', '10'],
      ['u3', '19.5'],
      ['u4', '20'],
      ['u5', '-1'],
    ])
    await importRows(f.svc, 'C', 'collection', [
      ['u1', 'vip|sms'],
      ['u2', 'sms'],
      ['u3', 'email'],
    ])
    await importRows(f.svc, 'B', 'boolean', [
      ['u1', 'true'],
      ['u2', 'false'],
    ])
    await importRows(
      f.svc,
      'D',
      'date',
      [
        ['u1', '2024-03-03T16:00:00Z'],
        ['u2', '2024-03-04T16:00:00Z'],
      ],
      { tz: 'Asia/Tokyo' },
    )
  })
  afterAll(() => f.dispose())

  const ids = async (labelId: string, value?: string) =>
    (await f.svc.audience(labelId, 'string', value === undefined ? {} : { value })).users.map((u) => u.userId)

  it('pages through every covered user in uid order with the cursor', async () => {
    const seen: string[] = []
    let after: string | undefined
    let pages = 0
    for (;;) {
      const p = await f.svc.audience('S', 'string', { limit: 10, ...(after !== undefined ? { after } : {}) })
      seen.push(...p.users.map((u) => u.userId))
      pages++
      if (p.nextCursor === null) break
      after = p.nextCursor
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `u${i + 1}`))
  })

  it('a page that ends exactly at the last user has no next cursor', async () => {
    const p = await f.svc.audience('N', 'number', { limit: 5 })
    expect(p.users).toHaveLength(5)
    expect(p.nextCursor).toBeNull()
  })

  it('filters by value per data type', async () => {
    expect(await ids('S', 'gold')).toEqual(['u1', 'u4', 'u7', 'u10', 'u13', 'u16', 'u19', 'u22', 'u25'])
    expect(await ids('N', '10')).toEqual(['u2'])
    expect(await ids('N', '[10,20)')).toEqual(['u2', 'u3'])
    expect(await ids('N', '[10,20]')).toEqual(['u2', 'u3', 'u4'])
    expect(await ids('N', '(-∞,5)')).toEqual(['u5'])
    expect(await ids('N', '[19.5,+∞)')).toEqual(['u3', 'u4'])
    expect(await ids('C', 'sms')).toEqual(['u1', 'u2'])
    expect(await ids('B', 'true')).toEqual(['u1'])
    expect(await ids('B', 'FALSE')).toEqual(['u2'])
    expect(await ids('D', '2024-03-04')).toEqual(['u1']) // 01:00 on 2024-03-04 in Tokyo
    expect(await ids('D', '2024-03-04T16:00:00Z')).toEqual(['u2'])
  })

  it('returns values in their JSON shape', async () => {
    expect((await f.svc.audience('N', 'number', { limit: 1 })).users).toEqual([{ userId: 'u1', value: 5 }])
    expect((await f.svc.audience('C', 'collection', { limit: 1 })).users).toEqual([
      { userId: 'u1', value: ['vip', 'sms'] },
    ])
    expect((await f.svc.audience('D', 'date', { limit: 1 })).users).toEqual([
      { userId: 'u1', value: '2024-03-03T16:00:00.000Z' },
    ])
  })

  it('refuses bad filters and cursors with their path', async () => {
    await expect(f.svc.audience('N', 'number', { value: 'ten' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/value',
    })
    await expect(f.svc.audience('B', 'boolean', { value: 'yes' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/value',
    })
    await expect(f.svc.audience('D', 'date', { value: 'soon' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/value',
    })
    await expect(f.svc.audience('S', 'string', { after: '-1' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/after',
    })
    await expect(f.svc.audience('S', 'string', { after: '12' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/after',
    })
    await expect(f.svc.audience('S', 'string', { limit: 0 })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/limit',
    })
  })

  it('a label without results has an empty audience', async () => {
    expect(await f.svc.audience('none', 'string', {})).toEqual({ users: [], nextCursor: null, runId: null })
  })

  it('userLabels lists every label with a current value for the user', async () => {
    const l = await f.svc.userLabels('u1')
    expect(l.map((x) => [x.labelId, x.value])).toEqual([
      ['B', true],
      ['C', ['vip', 'sms']],
      ['D', '2024-03-03T16:00:00.000Z'],
      ['N', 5],
      ['S', 'gold'],
    ])
    for (const x of l) expect(x.asOf).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect((await f.svc.userLabels('u25')).map((x) => [x.labelId, x.value])).toEqual([['S', 'gold']])
    expect(await f.svc.userLabels('stranger')).toEqual([])
  })
})
