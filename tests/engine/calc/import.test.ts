import { afterAll, beforeAll, expect, it } from 'vitest'
import { parseImportValue } from '../../../engine/calc/import-values.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, importDef, importRows, newService, type Fixture } from './fixture.ts'

describeEachDb('import method', (kind) => {
  let f: Fixture
  let seq = 0
  const label = () => `imp${++seq}`
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 6)
  })
  afterAll(() => f.dispose())

  const values = async (labelId: string) => {
    const page = await f.svc.audience(labelId, 'string', {})
    return Object.fromEntries(page.users.map((u) => [u.userId, u.value]))
  }

  it('replace makes the results exactly the file, through an import run with history', async () => {
    const L = label()
    await importRows(f.svc, L, 'string', [
      ['u1', 'a'],
      ['u2', 'b'],
      ['u3', 'a'],
    ])
    const r = await importRows(f.svc, L, 'string', [
      ['u4', 'c'],
      ['u1', 'z'],
    ])
    expect(r.imported).toBe(2)
    expect(await values(L)).toEqual({ u1: 'z', u4: 'c' })
    const run = await f.svc.getRun(r.runId)
    expect(run).toMatchObject({ labelId: L, trigger: 'import', status: 'succeeded', totalUsers: 6, coveredUsers: 2 })
    const h = await f.svc.history(L, {})
    expect(h.items.map((i) => [i.value, i.users])).toEqual([
      ['c', 1],
      ['z', 1],
    ])
  })

  it('merge overrides and adds to the current results', async () => {
    const L = label()
    await importRows(f.svc, L, 'string', [
      ['u1', 'a'],
      ['u2', 'b'],
    ])
    await importRows(
      f.svc,
      L,
      'string',
      [
        ['u2', 'B'],
        ['u3', 'c'],
      ],
      { mode: 'merge' },
    )
    expect(await values(L)).toEqual({ u1: 'a', u2: 'B', u3: 'c' })
  })

  it('merge into a label without results is a plain load', async () => {
    const L = label()
    await importRows(f.svc, L, 'string', [['u5', 'x']], { mode: 'merge' })
    expect(await values(L)).toEqual({ u5: 'x' })
  })

  it('any bad row stores nothing, reports every row number and records a failed import run', async () => {
    const L = label()
    await importRows(f.svc, L, 'number', [
      ['u1', '1'],
      ['u2', '2'],
    ])
    const csv = 'user_id,value\nu1,10\nnobody,3\nu2,abc\nu3,4,5\nu1,7\n,1\n'
    const r = await f.svc.importValues({
      labelId: L,
      dataType: 'number',
      csv,
      mode: 'replace',
      tz: 'UTC',
      definition: importDef('number'),
    })
    expect(r.committed).toBe(false)
    expect(r.imported).toBe(0)
    expect(r.errors).toEqual([
      { row: 2, reason: 'unknown user_id "nobody"' },
      { row: 3, reason: '"abc" is not a number' },
      { row: 4, reason: 'expected 2 fields (user_id,value), got 3' },
      { row: 5, reason: 'user_id "u1" appears again (first at row 1)' },
      { row: 6, reason: 'user_id is empty' },
    ])
    expect(await f.svc.getRun(r.runId)).toMatchObject({ status: 'failed', trigger: 'import' })
    expect((await f.svc.getRun(r.runId))?.error).toMatch(/^import rejected: 5 invalid rows, first at row 2/)
    const page = await f.svc.audience(L, 'number', {})
    expect(page.users).toEqual([
      { userId: 'u1', value: 1 },
      { userId: 'u2', value: 2 },
    ])
  })

  it('skipInvalid stores the good rows and reports the rest', async () => {
    const L = label()
    const r = await f.svc.importValues({
      labelId: L,
      dataType: 'number',
      csv: 'u1,1\nu2,x\nu3,3\n',
      mode: 'replace',
      tz: 'UTC',
      definition: importDef('number'),
      skipInvalid: true,
    })
    expect(r).toMatchObject({ committed: true, imported: 2, errors: [{ row: 2, reason: '"x" is not a number' }] })
    expect((await f.svc.audience(L, 'number', {})).users.map((u) => u.value)).toEqual([1, 3])
  })

  it('skipInvalid stores the known users of a file and reports the unknown ones with their rows', async () => {
    const L = label()
    const r = await f.svc.importValues({
      labelId: L,
      dataType: 'number',
      csv: 'u1,1\nghost,2\nu3,3\nnobody,4\n',
      mode: 'replace',
      tz: 'UTC',
      definition: importDef('number'),
      skipInvalid: true,
    })
    expect(r).toMatchObject({
      committed: true,
      imported: 2,
      invalidRows: 2,
      errors: [
        { row: 2, reason: 'unknown user_id "ghost"' },
        { row: 4, reason: 'unknown user_id "nobody"' },
      ],
    })
    expect((await f.svc.audience(L, 'number', {})).users.map((u) => u.value)).toEqual([1, 3])
  })

  it('a file of unknown users only stores nothing and keeps the previous results, even with skipInvalid', async () => {
    const L = label()
    expect(
      await f.svc.importValues({
        labelId: L,
        dataType: 'number',
        csv: 'u1,7\n',
        mode: 'replace',
        tz: 'UTC',
        definition: importDef('number'),
      }),
    ).toMatchObject({ committed: true })
    for (const skipInvalid of [false, true]) {
      const r = await f.svc.importValues({
        labelId: L,
        dataType: 'number',
        csv: 'ghost,1\nnobody,2\n',
        mode: 'replace',
        tz: 'UTC',
        definition: importDef('number'),
        skipInvalid,
      })
      expect(r).toMatchObject({
        committed: false,
        imported: 0,
        invalidRows: 2,
        errors: [
          { row: 1, reason: 'unknown user_id "ghost"' },
          { row: 2, reason: 'unknown user_id "nobody"' },
        ],
      })
      expect((await f.svc.audience(L, 'number', {})).users.map((u) => u.value)).toEqual([7])
    }
  })

  it('accepts a file without header, with a BOM, CRLF line ends, quoted cells and blank lines', async () => {
    const L = label()
    const csv = '\ufeffu1,"a, b"\r\n\r\nu2,"say ""hi"""\r\n'
    const r = await f.svc.importValues({
      labelId: L,
      dataType: 'string',
      csv,
      mode: 'replace',
      tz: 'UTC',
      definition: importDef('string'),
    })
    expect(r.errors).toEqual([])
    expect(await values(L)).toEqual({ u1: 'a, b', u2: 'say "hi"' })
  })

  it('an empty file is refused rather than wiping the results', async () => {
    const L = label()
    await importRows(f.svc, L, 'string', [['u1', 'a']])
    const r = await f.svc.importValues({
      labelId: L,
      dataType: 'string',
      csv: 'user_id,value\n',
      mode: 'replace',
      tz: 'UTC',
      definition: importDef('string'),
    })
    expect(r).toMatchObject({ committed: false, errors: [{ row: 0, reason: 'the file has no data rows' }] })
    expect(await values(L)).toEqual({ u1: 'a' })
  })

  it('parses every data type: boolean 1/0, collections as JSON or a|b, dates as a day in the workspace zone', async () => {
    const B = label(),
      C = label(),
      D = label()
    await importRows(f.svc, B, 'boolean', [
      ['u1', 'true'],
      ['u2', '0'],
      ['u3', 'FALSE'],
      ['u4', '1'],
    ])
    expect((await f.svc.audience(B, 'boolean', {})).users.map((u) => u.value)).toEqual([true, false, false, true])
    await importRows(f.svc, C, 'collection', [
      ['u1', 'vip| sms |vip'],
      ['u2', '["a","b"]'],
    ])
    expect((await f.svc.audience(C, 'collection', {})).users.map((u) => u.value)).toEqual([
      ['vip', 'sms'],
      ['a', 'b'],
    ])
    await importRows(
      f.svc,
      D,
      'date',
      [
        ['u1', '2024-05-01'],
        ['u2', '2024-05-01T10:00:00Z'],
      ],
      { tz: 'Asia/Tokyo' },
    )
    expect((await f.svc.audience(D, 'date', {})).users.map((u) => u.value)).toEqual([
      '2024-04-30T15:00:00.000Z',
      '2024-05-01T10:00:00.000Z',
    ])
  })

  it('refuses a label whose rule is not the import method', async () => {
    await expect(
      f.svc.importValues({
        labelId: label(),
        dataType: 'number',
        csv: 'u1,1',
        mode: 'replace',
        tz: 'UTC',
        definition: { dataType: 'number', rule: { method: 'metric', event: 'e', measure: { agg: 'count' } } },
      }),
    ).rejects.toMatchObject({ code: 'invalid', path: '/rule/method' })
  })

  it('recalculating an import label keeps its imported values', async () => {
    const L = label()
    await importRows(f.svc, L, 'string', [
      ['u1', 'a'],
      ['u2', 'b'],
    ])
    const q = await f.svc.createRun({
      labelId: L,
      trigger: 'manual',
      asOf: new Date().toISOString(),
      definition: importDef('string'),
    })
    expect(await f.svc.executeRun(q.id, { tz: 'UTC' })).toMatchObject({ status: 'succeeded', coveredUsers: 2 })
    expect(await values(L)).toEqual({ u1: 'a', u2: 'b' })
  })
})

it('import values are checked per data type', () => {
  expect(parseImportValue('number', ' 12.5 ')).toEqual({ ok: true, value: '12.5' })
  expect(parseImportValue('number', '1e3')).toEqual({ ok: true, value: '1000' })
  expect(parseImportValue('number', 'NaN').ok).toBe(false)
  expect(parseImportValue('boolean', 'yes').ok).toBe(false)
  expect(parseImportValue('date', '2024-02-30').ok).toBe(false)
  expect(parseImportValue('date', '2024-02-29')).toEqual({ ok: true, value: '2024-02-29' })
  expect(parseImportValue('collection', '[1, "a"]')).toEqual({ ok: true, value: '["1","a"]' })
  expect(parseImportValue('collection', '[{"a":1}]').ok).toBe(false)
  expect(parseImportValue('collection', '| |').ok).toBe(false)
  expect(parseImportValue('string', '   ').ok).toBe(false)
  expect(parseImportValue('string', ' keep ')).toEqual({ ok: true, value: ' keep ' })
})
