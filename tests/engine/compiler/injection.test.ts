import { afterAll, beforeAll, expect, it } from 'vitest'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { loadCatalogue, type Catalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { LabelsError } from '../../../shared/errors.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { runCompiled } from '../../helpers/rule-data.ts'

const EVIL = `'; DROP TABLE users; --`
const EVIL_EVENT = `buy"; DELETE FROM users; --`
const EVIL_PROP = `amount") FROM users; DROP TABLE users; --`
const EVIL_ATTR = `city' OR '1'='1`

describeEachDb('hostile names and values never reach the SQL text', (kind) => {
  let db: TestDb
  let catalogue: Catalogue
  const compile = (dataType: 'string' | 'number', rule: Rule) =>
    compileRule({ dataType, rule }, { catalogue, asOf: new Date('2024-03-15T00:00:00Z'), tz: 'UTC' })
  const userCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]?.n

  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
    await ingestUserRecords(db, [
      { user_id: 'a', properties: { [EVIL_ATTR]: EVIL } },
      { user_id: 'b', properties: { [EVIL_ATTR]: 'Paris' } },
      { user_id: EVIL },
    ])
    await ingestEventRecords(db, [
      { user_id: 'a', event: EVIL_EVENT, time: '2024-03-01T00:00:00Z', properties: { [EVIL_PROP]: 5, note: EVIL } },
      {
        user_id: EVIL,
        event: EVIL_EVENT,
        time: '2024-03-02T00:00:00Z',
        properties: { [EVIL_PROP]: 7, note: '50%_off' },
      },
    ])
    catalogue = await loadCatalogue(db)
  })
  afterAll(async () => {
    await db.dispose()
  })

  it('names from the catalogue become ev<N>/c<N> identifiers', async () => {
    const c = compile('number', {
      method: 'metric',
      event: EVIL_EVENT,
      where: [{ property: 'note', op: 'neq', value: EVIL }],
      measure: { agg: 'sum', property: EVIL_PROP },
    })
    expect(c.sql).not.toMatch(/DROP|DELETE|amount|buy|city/)
    expect(c.sql).toMatch(/FROM ev\d+ WHERE/)
    expect(Object.fromEntries(await runCompiled(db, c))).toEqual({ a: 0, b: 0, [EVIL]: 7 })
    expect(await userCount()).toBe(3)
  })

  it('attribute names resolve through the catalogue too', async () => {
    const c = compile('string', {
      method: 'custom',
      values: [{ value: EVIL, when: { attribute: EVIL_ATTR, op: 'eq', value: EVIL } }],
    })
    expect(c.sql).not.toContain(EVIL_ATTR)
    expect(c.params).toContain(EVIL)
    expect(Object.fromEntries(await runCompiled(db, c))).toEqual({ a: EVIL })
  })

  it('values are parameters: quotes, LIKE wildcards and comments match literally', async () => {
    const contains = (value: string) =>
      compile('number', {
        method: 'metric',
        event: EVIL_EVENT,
        where: [{ property: 'note', op: 'contains', value }],
        measure: { agg: 'count' },
      })
    for (const value of [EVIL, `' OR 1=1 --`, '%', '_off', '$$--']) {
      const c = contains(value)
      expect(c.sql).not.toContain(value)
      const got = Object.fromEntries(await runCompiled(db, c))
      expect(got).toEqual({ a: EVIL.includes(value) ? 1 : 0, b: 0, [EVIL]: '50%_off'.includes(value) ? 1 : 0 })
    }
    const inList = compile('string', {
      method: 'custom',
      values: [{ value: 'hit', when: { attribute: EVIL_ATTR, op: 'in', value: [EVIL, `x'); DROP TABLE users; --`] } }],
    })
    expect(Object.fromEntries(await runCompiled(db, inList))).toEqual({ a: 'hit' })
    const names = compile('string', {
      method: 'distribution',
      event: EVIL_EVENT,
      measure: { agg: 'count' },
      boundaries: [1],
      names: [EVIL, `"; --`],
    })
    expect(Object.fromEntries(await runCompiled(db, names))).toEqual({ a: `"; --`, b: EVIL, [EVIL]: `"; --` })
    expect(await userCount()).toBe(3)
  })

  it('an unknown hostile name is a 422, not SQL', () => {
    const unknown = () =>
      compile('number', {
        method: 'metric',
        event: EVIL_EVENT,
        measure: { agg: 'sum', property: `x"; DROP TABLE users; --` },
      })
    expect(unknown).toThrow(LabelsError)
    expect(unknown).toThrow(/has no property/)
  })

  it('the time zone is a parameter as well', async () => {
    const c = compileRule(
      { dataType: 'number', rule: { method: 'metric', event: EVIL_EVENT, measure: { agg: 'days' } } },
      { catalogue, asOf: new Date('2024-03-15T00:00:00Z'), tz: `UTC'; DROP TABLE users; --` },
    )
    expect(c.sql).not.toContain('DROP')
    await expect(runCompiled(db, c)).rejects.toThrow(/time zone/)
    expect(await userCount()).toBe(3)
  })
})
