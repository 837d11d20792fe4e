import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { loadBuckets } from '../../../engine/calc/history-buckets.ts'
import { historyQuery } from '../../../engine/calc/history-snapshot.ts'
import { distributionItems } from '../../../engine/read/distribution-items.ts'
import { loadLabelState } from '../../../engine/read/label-state.ts'
import { maxDistinctNumbers, maxGroups } from '../../../engine/read/result-summary.ts'
import { EngineService } from '../../../engine/service.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { tapped } from '../../helpers/tapped.ts'
import { addUsers } from './fixture.ts'

/**
 * A run that fills a new result table counts it once, for its summary, and writes its history
 * snapshot from that summary where the summary holds the whole answer (engine/calc/execute-run.ts
 * finishResults, engine/calc/history-snapshot.ts). Every snapshot here is checked against the
 * history query run over the result table itself, for each data type, with fixed buckets and
 * without, and past the summary's limits (more groups or distinct numbers than it keeps whole),
 * where the snapshot is read from the table again.
 */

const users = maxDistinctNumbers + 500 // enough distinct numbers and strings to pass both limits

const cases: Array<{
  name: string
  dataType: DataType
  sql: string
  grouped: number
  numbersKept?: boolean
  exact?: boolean
}> = [
  { name: 'a few strings', dataType: 'string', sql: `SELECT uid, 'v' || (uid % 7) AS value FROM users`, grouped: 1 },
  {
    name: `more strings than the summary keeps whole (${maxGroups})`,
    dataType: 'string',
    sql: `SELECT uid, 's' || (uid % ${maxGroups + 300}) AS value FROM users`,
    grouped: 5, // the summary's: every group (cut at maxGroups + 1) and three top-50 lists; the snapshot's
  },
  {
    name: 'booleans',
    dataType: 'boolean',
    sql: `SELECT uid, uid % 3 = 0 AS value FROM users WHERE uid % 5 <> 0`,
    grouped: 1,
  },
  {
    name: 'a few numbers',
    dataType: 'number',
    sql: `SELECT uid, (uid % 40) * 2.5 AS value FROM users`,
    grouped: -1,
    numbersKept: true,
    exact: true,
  },
  {
    name: 'numbers in bins, each value kept',
    dataType: 'number',
    sql: `SELECT uid, (uid % 300) * 1.5 AS value FROM users`,
    grouped: -1,
    numbersKept: true,
  },
  {
    name: `more distinct numbers than the summary keeps (${maxDistinctNumbers})`,
    dataType: 'number',
    sql: `SELECT uid, uid * 1.25 AS value FROM users`,
    grouped: -1,
    numbersKept: false,
  },
  {
    name: 'dates over months',
    dataType: 'date',
    sql: `SELECT uid, timestamptz '2024-01-03 10:00+00' + (uid % 200) * interval '1 day' AS value FROM users`,
    grouped: -1,
  },
  {
    name: 'collections',
    dataType: 'collection',
    sql: `SELECT uid, ARRAY['c' || (uid % 5), 'd' || (uid % 3)] AS value FROM users WHERE uid % 4 <> 0`,
    grouped: 1,
  },
]

describeEachDb('history snapshots read from the run summary', (kind) => {
  let db: TestDb
  let svc: EngineService
  let source: SourceSql = { sql: '', params: [] }
  const statements: string[] = []
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(tapped(db, { statement: (sql) => void statements.push(sql) }), {
      compile: async () => source,
    })
    await svc.migrate()
    await addUsers(db, users)
  }, 120_000)
  afterAll(() => db?.dispose())

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: the snapshot equals the history query over the result table`, async () => {
      const labelId = `h${i}`
      const def: Definition = {
        dataType: c.dataType,
        rule: { method: 'metric', event: 'x', measure: { agg: 'count' } },
      }
      source = { sql: c.sql, params: [] }
      // Two runs on two days: the first fixes the buckets of numbers and dates, the second is counted in them.
      for (const asOf of ['2024-09-01T12:00:00Z', '2024-09-02T12:00:00Z']) {
        statements.length = 0
        const r = await svc.createRun({ labelId, trigger: 'manual', asOf, definition: def })
        const run = await svc.executeRun(r.id, { tz: 'UTC' })
        expect(run.status).toBe('succeeded')
        const state = await loadLabelState(db, labelId)
        if (!state) throw new Error('no results')
        const buckets = await loadBuckets(db, labelId, c.dataType)
        const expected = await distributionItems(db, state.table, c.dataType, historyQuery(buckets), 'UTC', state)
        const day = asOf.slice(0, 10)
        const stored = await db.query<{ value: string; users: number }>(
          'SELECT value, users FROM history WHERE label_id = $1 AND date = $2::date ORDER BY value COLLATE "C"',
          [labelId, day],
        )
        expect(stored.rows.map((x) => [x.value, x.users])).toEqual(
          expected
            .map((x): [string, number] => [String(x.value), x.users])
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
        expect(stored.rows.length).toBeGreaterThan(0)
        // A number table's distinct values are grouped only when the summary keeps them.
        if (c.numbersKept !== undefined) {
          const byValue = statements.filter((s) => s.includes(state.table) && /GROUP BY value ORDER BY value/i.test(s))
          expect(byValue).toHaveLength(c.numbersKept ? 1 : 0)
          // Buckets over the table's rows only when its distinct values aren't kept (else over
          // those): then the summary's default bins and the snapshot's fixed buckets.
          const binned = statements.filter((s) => s.includes(state.table) && /width_bucket\(value/i.test(s))
          expect(binned).toHaveLength(c.numbersKept ? 0 : 2)
          // The first run fixes the buckets: from the kept values, else by percentile_cont over the table.
          const fixing = statements.filter((s) => /percentile_cont/i.test(s))
          expect(fixing).toHaveLength(day === '2024-09-01' && !c.numbersKept ? 1 : 0)
          // At most 50 distinct values: per exact value, no buckets (as the distribution shows them).
          if (c.exact) expect(buckets).toBeNull()
          else if (day === '2024-09-01') expect(buckets?.boundaries?.length).toBeGreaterThan(1)
        }
        // Statements that group the new result table: the summary's alone where it holds the answer.
        if (c.grouped > 0) {
          const grouping = statements.filter((s) => s.includes(state.table) && /GROUP BY/i.test(s))
          expect(grouping).toHaveLength(c.grouped)
        }
      }
    }, 60_000)
  }
})
