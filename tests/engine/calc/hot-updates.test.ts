import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { ingestEventRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadLabelState } from '../../../engine/read/label-state.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { ASOF, ingestPurchasers, runLabelAt } from '../../helpers/rule-data.ts'

/**
 * A run written in place (engine/calc/result-swap.ts applyChanges) updates the rows of the customers
 * whose value changed. A result table is filled to 90% of each page (newResultTable's fillfactor), so
 * a changed row's new version fits on its own page: PostgreSQL then updates it as a heap-only tuple
 * (HOT: the value is not indexed), with no new entry in the table's key and less WAL. Filled to 100%,
 * as a bulk insert leaves a table, every changed row moved to another page. Checked here by the
 * page of each changed row (its ctid) before and after the run.
 */

const USERS = 10_000
/** Customers with a purchase appended after the first run (5%: a busy day's share for one label). */
const APPENDED = 500

const label: { id: string; def: Definition } = {
  id: 'purchases',
  def: {
    dataType: 'number',
    rule: { method: 'metric', event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' } },
  } as Definition,
}

describeEachDb('a run written in place keeps changed rows on their pages', (kind) => {
  let db: TestDb

  beforeAll(async () => {
    db = await newDb(kind)
    await new EngineService(db).migrate()
    if (db.citus) return // runs swap a new table there (calc/execute-run.ts materialise)
    await ingestPurchasers(db, USERS, 20)
  }, 120_000)
  afterAll(async () => {
    await db?.dispose()
  })

  /** Each customer's value and the page its row is on. */
  async function rows(table: string): Promise<Map<number, { value: number; page: number }>> {
    const r = await db.query<{ uid: number; value: number; page: number }>(
      `SELECT uid, value, (ctid::text::point)[0]::int AS page FROM ${table}`,
    )
    return new Map(r.rows.map((x) => [Number(x.uid), { value: Number(x.value), page: Number(x.page) }]))
  }

  it('updates the changed customers in place, each on the page it was on', async () => {
    if (db.citus) return
    const svc = new EngineService(db, { resultWrites: 'auto', incremental: 'always' })
    await runLabelAt(svc, label, ASOF, 'UTC')
    const table = (await loadLabelState(db, label.id))?.table as string
    const before = await rows(table)
    expect(before.size).toBe(USERS)
    const appended = Array.from({ length: APPENDED }, (_, k) => ({
      user_id: `u${20 * k}`,
      event: 'purchase',
      time: new Date(ASOF.getTime() + 3_600_000).toISOString(),
      properties: {},
    }))
    expect((await ingestEventRecords(db, appended)).committed).toBe(true)
    // An hour later: the 30-day window loses nothing, so exactly the customers with a new purchase change.
    await runLabelAt(svc, label, new Date(ASOF.getTime() + 2 * 3_600_000), 'UTC')
    expect((await loadLabelState(db, label.id))?.table, 'written in place').toBe(table)
    const after = await rows(table)
    const changed = [...after].filter(([uid, r]) => before.get(uid)?.value !== r.value)
    expect(changed).toHaveLength(APPENDED)
    for (const [uid, r] of changed) expect(r.value, `uid ${uid}`).toBe((before.get(uid)?.value ?? 0) + 1)
    const moved = changed.filter(([uid, r]) => before.get(uid)?.page !== r.page)
    expect(moved.length, `${moved.length} of ${APPENDED} changed rows moved to another page`).toBe(0)
  }, 240_000)
})
