import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, until, type TestServer } from '../server/helpers.ts'

/**
 * Every CSV export (GET …/distribution, …/history, …/users with format=csv: the routes that
 * answer text/csv) re-parsed with an independent parser (csv-parse, strict RFC 4180) gives the
 * rows of the JSON read of the same thing, for hostile values: quotes, commas, CR/LF, a leading
 * U+FEFF, unicode, and formula starters. SPEC §8 says exports neutralise formula cells: a text
 * cell starting with = + - @ TAB or CR gets a leading ' (engine/csv-cells.ts); plain numbers
 * stay numbers. So the expected cell is the JSON value's text with that one documented change.
 */
const hostile = [
  'plain',
  'comma,inside',
  'quote"inside',
  '"all quoted"',
  'line\nbreak',
  'crlf\r\nbreak',
  'cr\ronly',
  '=1+2',
  '=HYPERLINK("http://x","y")',
  '+SUM(A1)',
  '-cmd',
  '@at',
  '\ttab',
  '\rcr-led',
  '-12.5',
  '+3',
  ' spaced ',
  '中文值',
  'emoji 😀',
  '\uFEFFbom-led',
  'é',
  "'apostrophe",
  '',
  'a|b',
]
/** user_ids as hostile as ingestion accepts. */
const userId = (i: number) => [`id,${i}`, `id"${i}`, `=id${i}`, `用户${i}`, `id ${i}`, `+${i}`][i % 6]!

const formulaStart = /^[=+\-@\t\r]/
const plainNumber = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
/** What a JSON value looks like as a CSV cell once the export neutralised it (SPEC §8). */
function shown(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = Array.isArray(v) ? v.join('|') : String(v)
  return typeof v !== 'number' && formulaStart.test(s) && !plainNumber.test(s) ? `'${s}` : s
}

function reparse(body: string): string[][] {
  expect(body.startsWith('\uFEFF'), 'exports start with a BOM').toBe(true)
  return parse(body, { bom: true, relax_quotes: false, relax_column_count: false }) as string[][]
}

describeEachDb('CSV exports re-parsed with csv-parse give the JSON rows', (kind) => {
  let s: TestServer
  const get = (url: string) => s.app.inject({ url, headers: auth('viewer') })
  const tried: string[] = []

  beforeAll(async () => {
    s = await newServer(kind)
    const events = hostile.flatMap((page, i) => [
      {
        user_id: userId(i),
        event: 'visit',
        time: `2024-03-0${1 + (i % 9)}T10:00:00Z`,
        event_id: `v${i}`,
        properties: { page, amount: [-12.5, 3, 0.1 + 0.2, 1e21, -0][i % 5] },
      },
    ])
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/data/events',
      payload: ndjson(events),
      headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
    })
    expect(r.statusCode, r.body).toBe(200)
    const labels = [
      {
        name: 'last_page',
        dataType: 'string',
        rule: { method: 'first_last', which: 'last', event: 'visit', property: 'page' },
      },
      {
        name: 'pages',
        dataType: 'collection',
        rule: { method: 'preference', event: 'visit', property: 'page', top: 3 },
      },
      {
        name: 'spent',
        dataType: 'number',
        rule: { method: 'metric', event: 'visit', measure: { agg: 'sum', property: 'amount' } },
      },
      {
        name: 'hostile_custom',
        dataType: 'string',
        rule: {
          method: 'custom',
          values: hostile
            .filter((h) => h !== '')
            .slice(0, 12)
            .map((h) => ({
              value: h,
              when: { event: 'visit', where: [{ property: 'page', op: 'eq', value: h }], op: 'gte', value: 1 },
            })),
          otherwise: '=otherwise',
        },
      },
    ]
    for (const l of labels) {
      const c = await s.app.inject({
        method: 'POST',
        url: '/api/labels',
        payload: { displayName: l.name, labelType: 'static', ...l },
        headers: auth('editor'),
      })
      if (c.statusCode !== 201) {
        tried.push(`${l.name}: refused ${c.statusCode} ${c.json().error.message}`)
        continue
      }
      await until(
        async () =>
          ['succeeded', 'failed'].includes((await get(`/api/labels/${l.name}`)).json().lastRun?.status) || null,
      )
      tried.push(l.name)
    }
  })
  afterAll(async () => {
    console.log(
      `[csv] ${kind}: labels exported: ${tried.join('; ')}; ${hostile.length} hostile values, 6 hostile user_id shapes`,
    )
    await s?.close()
  })

  it('distribution exports: the same rows as the JSON items', async () => {
    let n = 0
    for (const name of ['last_page', 'pages', 'spent', 'hostile_custom']) {
      if (!tried.includes(name)) continue
      for (const q of ['', '&sort=value&order=asc', '&top=5']) {
        const json = (await get(`/api/labels/${name}/distribution?x=1${q}`)).json() as {
          items: Array<Record<string, unknown>>
        }
        const csv = await get(`/api/labels/${name}/distribution?format=csv${q}`)
        expect(csv.statusCode).toBe(200)
        expect(csv.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/)
        const rows = reparse(csv.body)
        expect(rows[0]).toEqual(['value', 'from', 'to', 'users', 'proportion'])
        expect(rows.slice(1), `${name}${q}`).toEqual(
          json.items.map((i) => [shown(i.value), shown(i.from), shown(i.to), shown(i.users), shown(i.proportion)]),
        )
        n += rows.length - 1
      }
    }
    expect(n).toBeGreaterThan(hostile.length)
  })

  it('audience exports: the same rows as the streamed JSON audience, in the same order', async () => {
    for (const name of ['last_page', 'pages', 'spent', 'hostile_custom']) {
      if (!tried.includes(name)) continue
      const json = (await get(`/api/labels/${name}/users`)).json() as {
        users: Array<{ userId: string; value: unknown }>
      }
      const rows = reparse((await get(`/api/labels/${name}/users?format=csv`)).body)
      expect(rows[0]).toEqual(['user_id', 'value'])
      expect(rows.slice(1), name).toEqual(json.users.map((u) => [shown(u.userId), shown(u.value)]))
      expect(rows.length - 1).toBe(name === 'hostile_custom' ? hostile.length : json.users.length)
    }
    // One value at a time, as the distribution panel exports it, for the worst values.
    for (const v of ['crlf\r\nbreak', '=HYPERLINK("http://x","y")', '\uFEFFbom-led', 'quote"inside']) {
      const q = encodeURIComponent(v)
      const json = (await get(`/api/labels/last_page/users?value=${q}`)).json() as {
        users: Array<{ userId: string; value: unknown }>
      }
      expect(json.users.map((u) => u.value)).toEqual([v])
      expect(reparse((await get(`/api/labels/last_page/users?format=csv&value=${q}`)).body).slice(1)).toEqual(
        json.users.map((u) => [shown(u.userId), shown(u.value)]),
      )
    }
  })

  it('history exports: the same rows as the JSON history', async () => {
    for (const name of ['last_page', 'spent']) {
      const json = (await get(`/api/labels/${name}/history`)).json() as { items: Array<Record<string, unknown>> }
      expect(json.items.length).toBeGreaterThan(0)
      const rows = reparse((await get(`/api/labels/${name}/history?format=csv`)).body)
      expect(rows[0]).toEqual(['date', 'value', 'users', 'proportion'])
      expect(rows.slice(1), name).toEqual(
        json.items.map((i) => [shown(i.date), shown(i.value), shown(i.users), shown(i.proportion)]),
      )
    }
  })

  it('the stored values themselves are byte-exact (the JSON read is the reference)', async () => {
    const json = (await get('/api/labels/last_page/users')).json() as {
      users: Array<{ userId: string; value: string }>
    }
    expect(new Set(json.users.map((u) => u.value))).toEqual(new Set(hostile))
  })
})
