import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition, Run } from '../../../engine/api.ts'
import { INCREMENTAL_MAX_SHARE } from '../../../engine/calc/incremental.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * A calculation that computed every customer says why (runs.full_run_reason, the run's
 * `fullRunReason`: docs/api.md#runs); one restricted to the changed customers says how many
 * (`recomputedUsers`) and gives no reason.
 */

const DAY = 86_400_000
const tz = 'UTC'
const ASOF = new Date('2026-03-01T00:00:00Z')
const CUSTOMERS = 40
const count: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'view', window: { lastDays: 30 }, measure: { agg: 'count' } },
}
const sum: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'view', window: { lastDays: 30 }, measure: { agg: 'sum', property: 'n' } },
}

/** Views of customers c<from>…c<from+n-1>, the day before `at`. */
async function views(db: SqlExecutor, from: number, n: number, at: Date, tag: string): Promise<void> {
  await ingestEventRecords(
    db,
    Array.from({ length: n }, (_, i) => ({
      user_id: `c${from + i}`,
      event: 'view',
      event_id: `${tag}-${from + i}`,
      time: new Date(at.getTime() - DAY).toISOString(),
      properties: { n: i },
    })),
  )
}

describeEachDb('why a run computed every customer', (kind) => {
  let db: TestDb
  let day = 0
  beforeAll(async () => {
    db = await newDb(kind)
    await new EngineService(db).migrate()
    await ingestUserRecords(
      db,
      Array.from({ length: CUSTOMERS }, (_, i) => ({ user_id: `c${i}`, properties: { tier: i % 3 } })),
    )
    await views(db, 0, CUSTOMERS, ASOF, 'day0')
  })
  afterAll(async () => {
    await db?.dispose()
  })

  /** The next day's run of `label` with `def` on `service` (the engine's defaults: in place, incremental). */
  const run = async (label: string, def: Definition, service = new EngineService(db, { resultWrites: 'auto' })) => {
    const r = await service.createRun({
      labelId: label,
      trigger: 'schedule',
      asOf: new Date(ASOF.getTime() + day++ * DAY).toISOString(),
      definition: def,
    })
    const done = await service.executeRun(r.id, { tz })
    expect(done.status, done.error ?? '').toBe('succeeded')
    // What the service answers for the run afterwards too.
    expect(await service.getRun(r.id)).toEqual(done)
    return done
  }
  /**
   * Runs' lengths as if `which` of the label's runs (full: computed everyone) had taken `length`:
   * whether a restricted run is tried depends on them (calc/incremental.ts restrictedLost), and
   * on data this small either kind may be the faster.
   */
  const took = (label: string, which: 'full' | 'restricted', length: string) =>
    db.query(
      `UPDATE runs SET started_at = finished_at - $2::interval
        WHERE label_id = $1 AND finished_at IS NOT NULL AND (recomputed_users IS NULL) = $3`,
      [label, length, which === 'full'],
    )
  const reason = (r: Run) => ({ recomputedUsers: r.recomputedUsers ?? null, fullRunReason: r.fullRunReason ?? null })

  if (kind === 'citus') {
    it('says incremental runs are off on Citus, which keeps no change log', async () => {
      expect(reason(await run('views', count))).toEqual({ recomputedUsers: null, fullRunReason: 'off' })
      expect(reason(await run('views', count))).toEqual({ recomputedUsers: null, fullRunReason: 'off' })
    })
    return
  }

  it('a first run had no results to start from; the next one computes the changed customers only', async () => {
    expect(reason(await run('views', count))).toEqual({ recomputedUsers: null, fullRunReason: 'first' })
    await views(db, 0, 2, new Date(ASOF.getTime() + day * DAY), 'a')
    const next = await run('views', count)
    expect(reason(next)).toEqual({ recomputedUsers: expect.any(Number), fullRunReason: null })
    expect(next.recomputedUsers).toBeGreaterThanOrEqual(2)
    expect(next).not.toHaveProperty('fullRunReason')
  })

  it('an edited rule computes everyone', async () => {
    expect(reason(await run('views', sum))).toEqual({ recomputedUsers: null, fullRunReason: 'rule' })
  })

  it('so do changes to more than the share of customers a restricted run pays for', async () => {
    await took('views', 'full', '1 hour') // restricted runs pay
    expect((await run('views', sum)).recomputedUsers).not.toBeNull()
    const many = Math.ceil(INCREMENTAL_MAX_SHARE * CUSTOMERS) + 1
    await views(db, 0, many, new Date(ASOF.getTime() + day * DAY), 'b')
    expect(reason(await run('views', sum))).toEqual({ recomputedUsers: null, fullRunReason: 'many' })
  })

  it('and a label whose last restricted run took longer than its last full one', async () => {
    await took('views', 'full', '1 hour')
    expect((await run('views', sum)).recomputedUsers).not.toBeNull()
    await took('views', 'restricted', '2 hours')
    expect(reason(await run('views', sum))).toEqual({ recomputedUsers: null, fullRunReason: 'slower' })
  })

  it('says incremental runs are off where they are (LABELS_INCREMENTAL=off, LABELS_RESULT_WRITES=swap)', async () => {
    const off = new EngineService(db, { resultWrites: 'auto', incremental: false })
    expect(reason(await run('views', sum, off))).toEqual({ recomputedUsers: null, fullRunReason: 'off' })
    const swap = new EngineService(db, { resultWrites: 'swap' })
    expect(reason(await run('views', sum, swap))).toEqual({ recomputedUsers: null, fullRunReason: 'off' })
  })
})
