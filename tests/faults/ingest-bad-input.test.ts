import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, type TestServer } from '../server/helpers.ts'

/**
 * Ingestion bad input not covered elsewhere (tests/engine/ingest/* cover parsing, quotes, the
 * record and column limits; tests/server/bad-input.test.ts NUL and dates;
 * tests/server/data-ingest-limits.test.ts 1 500 bad rows and a 17 MiB line): through HTTP, atomic,
 * with row numbers. GBK bytes (invalid UTF-8), a BOM, repeated ids, a million bad rows, 10 000
 * property names. The 1 GB streamed body is in `npm run bench -- soak` (peak RSS).
 */
const gbk = (s: string) =>
  Buffer.concat(s.split(/(北京)/).map((p) => (p === '北京' ? Buffer.from([0xb1, 0xb1, 0xbe, 0xa9]) : Buffer.from(p))))

describeEachDb('ingestion bad input: atomic, row-numbered refusals', (kind) => {
  let s: TestServer
  const post = (target: 'users' | 'events', body: string | Buffer, type: string, q = '') =>
    s.app.inject({
      method: 'POST',
      url: `/api/data/${target}${q}`,
      payload: body,
      headers: { 'content-type': type, ...auth('admin') },
    })
  const schema = async () =>
    (await s.app.inject({ url: '/api/data/schema', headers: auth('admin') })).json() as {
      userAttributes: Array<{ name: string }>
      events: Array<{ name: string; properties: Array<{ name: string }> }>
    }
  const tried: string[] = []
  beforeAll(async () => {
    s = await newServer(kind)
  })
  afterAll(async () => {
    console.log(`[ingest-bad-input] ${kind}: ${tried.join('; ')}`)
    await s?.close()
  })

  it('GBK bytes (not UTF-8) are refused naming the row and byte, nothing stored, small and big bodies', async () => {
    const cases: Array<[string, 'users' | 'events', Buffer, string, number]> = [
      ['CSV users, row 2', 'users', gbk('user_id,city\nu1,Paris\nu2,北京\nu3,Rome\n'), 'text/csv', 2],
      [
        'CSV with a quoted newline before it, row 3',
        'users',
        gbk('user_id,city\nu1,"Par\nis"\nu2,Rome\nu3,北京\n'),
        'text/csv',
        3,
      ],
      [
        'NDJSON events, line 3',
        'events',
        gbk(
          ndjson([
            { user_id: 'u1', event: 'e', time: '2024-01-01T00:00:00Z' },
            { user_id: 'u2', event: 'e', time: '2024-01-01T00:00:00Z' },
          ]) + '{"user_id":"u3","event":"e","time":"2024-01-01T00:00:00Z","properties":{"city":"北京"}}\n',
        ),
        'application/x-ndjson',
        3,
      ],
      // Past 1 MiB: parsed in the worker, the bad bytes deep in the body, split across reads.
      [
        'big CSV users, row 40001',
        'users',
        gbk(
          'user_id,city\n' +
            Array.from({ length: 40_000 }, (_, i) => `big${i},${'x'.repeat(30)}`).join('\n') +
            '\nbad,北京\n',
        ),
        'text/csv',
        40_001,
      ],
    ]
    for (const [what, target, body, type, row] of cases) {
      const r = await post(target, body, type)
      expect(r.statusCode, `${what}: ${r.body}`).toBe(400)
      const e = r.json().error
      expect(e.message, what).toMatch(new RegExp(`^row ${row}: not valid UTF-8 \\(byte \\d+\\)`))
      expect(e.path, what).toBe(`/${row}`)
      expect(e.details).toMatchObject({ row, byte: expect.any(Number) })
      expect(body[e.details.byte]).toBe(0xb1)
      tried.push(`${what} → 400 "${e.message.slice(0, 60)}…"`)
    }
    const sch = await schema()
    expect(sch.userAttributes).toEqual([])
    expect(sch.events).toEqual([])
  })

  it('a BOM before the header or the first line is not part of the first column', async () => {
    expect((await post('users', '\uFEFFuser_id,tier\nb1,gold\n', 'text/csv')).json()).toMatchObject({
      committed: true,
      stored: 1,
    })
    expect(
      (
        await post(
          'events',
          '\uFEFF' + ndjson([{ user_id: 'b1', event: 'bom_ev', time: '2024-01-01T00:00:00Z' }]),
          'application/x-ndjson',
        )
      ).json(),
    ).toMatchObject({ committed: true, stored: 1 })
    expect(
      (
        await post(
          'events',
          Buffer.concat([
            Buffer.from([0xef, 0xbb, 0xbf]),
            Buffer.from('user_id,event,time\nb1,bom_ev,2024-01-02T00:00:00Z\n'),
          ]),
          'text/csv',
        )
      ).json(),
    ).toMatchObject({ committed: true, stored: 1 })
    const sch = await schema()
    expect(sch.userAttributes.map((a) => a.name)).toEqual(['tier'])
    expect(sch.events.map((e) => e.name)).toEqual(['bom_ev'])
    tried.push('BOM before a CSV header, an NDJSON line, raw EF BB BF bytes → stored, no \\uFEFF in names')
  })

  it('repeated ids: a user twice in one request is merged (later wins), an event_id twice is stored once', async () => {
    const u = await post('users', 'user_id,tier,city\nd1,silver,Oslo\nd1,gold,\n', 'text/csv')
    expect(u.json()).toMatchObject({ committed: true })
    const ev = { user_id: 'd1', event: 'dup_ev', time: '2024-01-01T00:00:00Z', event_id: 'same' }
    const e1 = await post(
      'events',
      ndjson([ev, { ...ev, time: '2024-02-01T00:00:00Z' }, { ...ev, event_id: 'other' }]),
      'application/x-ndjson',
    )
    expect(e1.json()).toMatchObject({ committed: true, duplicates: 1 })
    const e2 = await post('events', ndjson([ev]), 'application/x-ndjson')
    expect(e2.json()).toMatchObject({ committed: true, duplicates: 1 })
    const sample = JSON.stringify(await s.engine.sample({ users: 100, seed: 1 }))
    expect(sample).toContain('gold')
    expect(sample).not.toContain('silver')
    expect(sample).toContain('Oslo') // an empty cell keeps the earlier value
    tried.push(
      `repeated user_id merged; event_id repeated within and across requests: duplicates ${e1.json().duplicates} and ${e2.json().duplicates}`,
    )
  })

  it('a million bad rows: the true count, 100 listed, nothing stored', async () => {
    const body = 'user_id,score\n' + ',1\n'.repeat(1_000_000)
    const r = await post('users', body, 'text/csv')
    expect(r.statusCode).toBe(400)
    const e = r.json().error
    expect(e.message).toMatch(/^1000000 invalid row\(s\) \(rows 1, 2, 3, 4, 5, …\); nothing was stored$/)
    expect(e.details.invalidRows).toBe(1_000_000)
    expect(e.details.errors).toHaveLength(100)
    expect((await schema()).userAttributes.map((a) => a.name)).not.toContain('score')
    tried.push(`1M bad rows (${body.length} bytes) → 400 "${e.message}"`)
  })

  it('10 000 property names: refused by row and name, no column added', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `wide_${i}`)
    const csv = await post('users', `user_id,${names.join(',')}\nw1,${names.map((_, i) => i).join(',')}\n`, 'text/csv')
    expect(csv.statusCode, csv.body.slice(0, 300)).toBe(400)
    expect(csv.json().error.details.errors[0]).toMatchObject({
      row: 1,
      reason: expect.stringMatching(/attribute "wide_\d+"/),
    })
    const props = Object.fromEntries(names.map((n, i) => [n, i]))
    const nd = await post(
      'events',
      ndjson([{ user_id: 'w1', event: 'wide_ev', time: '2024-01-01T00:00:00Z', properties: props }]),
      'application/x-ndjson',
    )
    expect(nd.statusCode, nd.body.slice(0, 300)).toBe(400)
    expect(nd.json().error.details.errors[0]).toMatchObject({
      row: 1,
      reason: expect.stringMatching(/property "wide_\d+"/),
    })
    const sch = await schema()
    expect(sch.userAttributes.some((a) => a.name.startsWith('wide_'))).toBe(false)
    expect(sch.events.some((e) => e.name === 'wide_ev')).toBe(false)
    tried.push(
      `10k attribute columns (CSV) and 10k event properties (NDJSON) → 400 row 1: "${csv.json().error.details.errors[0].reason}"`,
    )
  })
})
