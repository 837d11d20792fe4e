import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, newServer, type TestServer } from './helpers.ts'

describeEachDb('POST /api/data/* refusals say what was wrong', (kind) => {
  let s: TestServer
  beforeAll(async () => {
    s = await newServer(kind)
  })
  afterAll(async () => {
    await s?.close()
  })

  const post = (body: string, type: string) =>
    s.app.inject({
      method: 'POST',
      url: '/api/data/users',
      headers: { ...auth('admin'), 'content-type': type },
      payload: body,
    })

  it('a refused upload counts every invalid row, not only the 100 listed', async () => {
    const body =
      'user_id,age\n' + Array.from({ length: 1500 }, (_, i) => `${i % 2 === 0 ? '' : 'u' + i},${i}`).join('\n') + '\n'
    const r = await post(body, 'text/csv')
    expect(r.statusCode).toBe(400)
    expect(r.json().error.message).toMatch(/^750 invalid row\(s\) \(rows 1, 3, 5, 7, 9, …\); nothing was stored$/)
    expect(r.json().error.details).toMatchObject({ invalidRows: 750 })
    expect(r.json().error.details.errors).toHaveLength(100)
  })

  it('one NDJSON line past 16 MiB answers 413 with its row number', async () => {
    const body = '{"user_id":"a"}\n{"user_id":"b","properties":{"note":"' + 'x'.repeat(17 << 20) + '"}}\n'
    const r = await post(body, 'application/x-ndjson')
    expect(r.statusCode).toBe(413)
    expect(r.json().error).toMatchObject({ code: 'too_large', path: '/2' })
    expect(r.json().error.message).toMatch(/^row 2 is longer than 16777216 characters/)
    expect((await s.app.inject({ url: '/api/data/schema', headers: auth('admin') })).json().userAttributes).toEqual([])
  })
})
