import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

let s: TestServer
beforeAll(async () => {
  s = await newServer('pglite', { limits: { importBytes: 2048, importRows: 50 } })
  const users = Array.from({ length: 30 }, (_, i) => ({ user_id: `u${i}`, properties: { n: i } }))
  await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson(users),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: { name: 'vip', displayName: 'VIP', dataType: 'string', labelType: 'static', rule: { method: 'import' } },
  })
  expect(r.statusCode).toBe(201)
  await s.app.runQueue.idle()
})
afterAll(async () => {
  await s?.close()
})

function multipart(filename: string, content: string) {
  const boundary = '----labels-test-boundary'
  const payload = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n--${boundary}--\r\n`
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

const values = async () =>
  (await s.app.inject({ url: '/api/labels/vip/distribution', headers: auth('viewer') })).json().items as Array<{
    value: string
    users: number
  }>

it('imports a multipart file upload', async () => {
  const m = multipart('vip.csv', 'user_id,value\nu1,gold\nu2,gold\nu3,silver\n')
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: m.payload,
    headers: { ...m.headers, ...auth('editor') },
  })
  expect(r.statusCode).toBe(200)
  expect(r.json()).toMatchObject({ imported: 3, committed: true })
  expect(await values()).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ value: 'gold', users: 2 }),
      expect.objectContaining({ value: 'silver', users: 1 }),
    ]),
  )
})

it('imports a raw text/csv body with a BOM, merging', async () => {
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import?mode=merge',
    payload: '\uFEFFuser_id,value\r\nu4,gold\r\n',
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(r.statusCode).toBe(200)
  expect(r.json().imported).toBe(1)
  expect((await values()).find((i) => i.value === 'gold')?.users).toBe(3)
})

it('answers 413 for a file over the byte limit or the row limit, storing nothing', async () => {
  const big = 'user_id,value\n' + 'u1,' + 'x'.repeat(4000) + '\n'
  const raw = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: big,
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(raw.statusCode).toBe(413)
  expect(raw.json().error.code).toBe('too_large')
  const m = multipart('big.csv', big)
  const mp = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: m.payload,
    headers: { ...m.headers, ...auth('editor') },
  })
  expect(mp.statusCode).toBe(413)
  const rows = 'user_id,value\n' + Array.from({ length: 60 }, (_, i) => `u${i % 30},a`).join('\n')
  const many = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: rows,
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(many.statusCode).toBe(413)
  expect((await values()).find((i) => i.value === 'gold')?.users).toBe(3)
})

it('answers 400 with row numbers for bad rows; refuses viewers and non-import labels', async () => {
  const bad = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: 'user_id,value\nu1,gold\n,gold\n',
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(bad.statusCode).toBe(400)
  expect(bad.json().error.details.errors[0].row).toBe(2)
  const viewer = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import',
    payload: 'user_id,value\n',
    headers: { 'content-type': 'text/csv', ...auth('viewer') },
  })
  expect(viewer.statusCode).toBe(403)
  await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: {
      name: 'calc',
      displayName: 'Calc',
      dataType: 'number',
      labelType: 'static',
      rule: { method: 'custom', values: [{ value: 1, when: { attribute: 'n', op: 'gt', value: 3 } }] },
    },
  })
  const notImport = await s.app.inject({
    method: 'POST',
    url: '/api/labels/calc/import',
    payload: 'user_id,value\nu1,1\n',
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(notImport.statusCode).toBe(422)
  expect(
    (
      await s.app.inject({
        method: 'POST',
        url: '/api/labels/vip/import',
        payload: 'x',
        headers: { 'content-type': 'application/json', ...auth('editor') },
      })
    ).statusCode,
  ).toBe(400)
})

it('?skipInvalid=true stores the good rows of a file and reports the bad ones (SPEC §8: import files follow the ingestion rule)', async () => {
  const csv = 'user_id,value\nu10,bronze\nghost,bronze\nu11,bronze\n,bronze\n'
  const refused = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import?mode=merge',
    payload: csv,
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(refused.statusCode).toBe(400)
  expect(refused.json().error).toMatchObject({
    message: '2 invalid row(s); nothing was imported',
    details: { invalidRows: 2 },
  })
  expect((await values()).find((i) => i.value === 'bronze')).toBeUndefined()
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import?mode=merge&skipInvalid=true',
    payload: csv,
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(r.statusCode).toBe(200)
  expect(r.json()).toMatchObject({
    committed: true,
    imported: 2,
    invalidRows: 2,
    errors: [
      { row: 2, reason: 'unknown user_id "ghost"' },
      { row: 4, reason: 'user_id is empty' },
    ],
  })
  expect((await values()).find((i) => i.value === 'bronze')?.users).toBe(2)
  // No good row at all: reported with 200 as ingestion does, nothing imported, the results kept
  // (even in replace mode), the run failed with the reason.
  const none = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import?skipInvalid=true',
    payload: 'user_id,value\nghost,gold\n',
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(none.statusCode, none.body).toBe(200)
  expect(none.json()).toMatchObject({ committed: false, imported: 0, invalidRows: 1 })
  expect((await values()).find((i) => i.value === 'bronze')?.users).toBe(2)
  const run = (await s.app.inject({ url: `/api/runs/${none.json().runId}`, headers: auth('viewer') })).json()
  expect(run).toMatchObject({ status: 'failed', trigger: 'import' })
  const bad = await s.app.inject({
    method: 'POST',
    url: '/api/labels/vip/import?skipInvalid=maybe',
    payload: csv,
    headers: { 'content-type': 'text/csv', ...auth('editor') },
  })
  expect(bad.statusCode).toBe(400)
})
