import { afterAll, beforeAll, expect, it } from 'vitest'
import { Ingestor } from '../../../engine/ingest/ingestor.ts'
import type { IngestResult } from '../../../engine/ingest/types.ts'
import { maxEventProperties, maxUserAttributes } from '../../../engine/storage/column-limits.ts'
import { EngineService } from '../../../engine/service.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

const props = (prefix: string, from: number, to: number) =>
  Object.fromEntries(Array.from({ length: to - from }, (_, i) => [`${prefix}${from + i}`, 1]))

describeEachDb('new attributes and properties stop at a documented limit, refused by row and name', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(db)
    await svc.migrate()
  })
  afterAll(() => db.dispose())

  const ingest = async (
    what: 'users' | 'events',
    records: unknown[],
    opts: { skipInvalid?: boolean } = {},
  ): Promise<IngestResult> => {
    const ing = new Ingestor(db, what, 'ndjson', opts)
    await ing.push(records.map((r) => JSON.stringify(r)).join('\n') + '\n')
    return ing.finish()
  }
  const schema = () => svc.schema()

  it('a request whose rows together pass the user-attribute limit stores nothing and names the row and attribute', async () => {
    const r = await ingest('users', [
      { user_id: 'u1', properties: props('a', 0, maxUserAttributes - 1) },
      { user_id: 'u2', properties: { [`a${maxUserAttributes - 1}`]: 2 } }, // the 1000th: fine
      { user_id: 'u3', properties: { a0: 3, extra: 'x' } }, // the 1001st
    ])
    expect(r).toMatchObject({ committed: false, stored: 0, invalidRows: 1 })
    expect(r.errors).toEqual([
      { row: 3, reason: `attribute "extra": users already have ${maxUserAttributes} attributes, the most allowed` },
    ])
    expect((await schema()).userAttributes).toEqual([])
  })

  it('up to the limit is stored; one more attribute in a later request is refused, nothing stored', async () => {
    expect(await ingest('users', [{ user_id: 'u1', properties: props('a', 0, maxUserAttributes) }])).toMatchObject({
      committed: true,
      stored: 1,
    })
    const r = await ingest('users', [
      { user_id: 'u2', properties: { a1: 5 } },
      { user_id: 'u3', properties: { late: true } },
    ])
    expect(r).toMatchObject({
      committed: false,
      invalidRows: 1,
      errors: [{ row: 2, reason: expect.stringContaining('attribute "late"') }],
    })
    expect((await schema()).userAttributes).toHaveLength(maxUserAttributes)
    // Known attributes still load fine.
    expect(await ingest('users', [{ user_id: 'u2', properties: { a1: 5 } }])).toMatchObject({
      committed: true,
      stored: 1,
    })
  })

  it("one event row with 2000 new properties (past PostgreSQL's 1600 columns) is a row error, not a 500", async () => {
    const r = await ingest('events', [
      { user_id: 'u1', event: 'wide', time: '2024-01-01T00:00:00Z', event_id: 'w1', properties: { p0: 1 } },
      { user_id: 'u1', event: 'wide', time: '2024-01-01T00:00:00Z', event_id: 'w2', properties: props('p', 0, 2000) },
    ])
    expect(r).toMatchObject({ committed: false, invalidRows: 1 })
    expect(r.errors).toEqual([
      {
        row: 2,
        reason: `property "p${maxEventProperties}": event "wide" already has ${maxEventProperties} properties, the most one event may have`,
      },
    ])
    expect((await schema()).events).toEqual([])
  })

  it('with skipInvalid the other rows are stored and the refused row adds no column', async () => {
    const r = await ingest(
      'events',
      [
        { user_id: 'u1', event: 'wide', time: '2024-01-01T00:00:00Z', event_id: 'w1', properties: { p0: 1 } },
        { user_id: 'u1', event: 'wide', time: '2024-01-01T00:00:00Z', event_id: 'w2', properties: props('p', 0, 2000) },
      ],
      { skipInvalid: true },
    )
    expect(r).toMatchObject({ committed: true, stored: 1, invalidRows: 1 })
    expect((await schema()).events.find((e) => e.name === 'wide')?.properties.map((p) => p.name)).toEqual(['p0'])
  })

  it('two requests that pass the limit only together: the second to commit is refused (409), nothing of it stored', async () => {
    const a = new Ingestor(db, 'events', 'ndjson')
    const b = new Ingestor(db, 'events', 'ndjson')
    const row = (id: string, from: number, to: number) =>
      JSON.stringify({
        user_id: 'u1',
        event: 'race',
        time: '2024-01-01T00:00:00Z',
        event_id: id,
        properties: props('q', from, to),
      }) + '\n'
    await a.push(row('r0', 0, 1)) // creates the event
    expect(await a.finish()).toMatchObject({ committed: true })
    const c = new Ingestor(db, 'events', 'ndjson')
    await b.push(row('r1', 1, 600))
    await c.push(row('r2', 600, 1200))
    expect(await b.finish()).toMatchObject({ committed: true })
    await expect(c.finish()).rejects.toMatchObject({
      code: 'conflict',
      path: expect.stringMatching(/^\/events\/race\/q\d+$/),
    })
    expect((await schema()).events.find((e) => e.name === 'race')?.properties).toHaveLength(600)
  })
})
