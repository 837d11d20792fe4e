import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AudiencePage } from '../../../engine/api.ts'
import { labelAudience } from '../../../engine/read/audience.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, importRows, newService, type Fixture } from '../calc/fixture.ts'

const rows = (value: string): Array<[string, string]> => Array.from({ length: 9 }, (_, i) => [`u${i + 1}`, value])

describeEachDb('a paginated audience read stays in one run', (kind) => {
  let f: Fixture
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 9)
  })
  afterAll(() => f.dispose())

  /** Walks every page, running `between(n)` after page n; returns the values seen or the error that stopped it. */
  async function walk(labelId: string, between: (page: number) => Promise<void>) {
    const values: unknown[] = []
    const runs = new Set<string | null>()
    let after: string | undefined
    for (let n = 1; ; n++) {
      let p: AudiencePage
      try {
        p = await f.svc.audience(labelId, 'string', { limit: 3, ...(after !== undefined ? { after } : {}) })
      } catch (error) {
        return { values, runs, error }
      }
      values.push(...p.users.map((u) => u.value))
      runs.add(p.runId)
      if (p.nextCursor === null) return { values, runs, error: null }
      after = p.nextCursor
      await between(n)
    }
  }

  it('pages of one run: every page names the run and the walk is complete', async () => {
    const run = await importRows(f.svc, 'L1', 'string', rows('A'))
    const w = await walk('L1', async () => {})
    expect(w.error).toBeNull()
    expect(w.values).toEqual(Array(9).fill('A'))
    expect([...w.runs]).toEqual([run.runId])
  })

  it('a run that replaces the results between two pages stops the export with 409, never mixing', async () => {
    const first = await importRows(f.svc, 'L2', 'string', rows('A'))
    let second = ''
    const w = await walk('L2', async (n) => {
      if (n === 1) second = (await importRows(f.svc, 'L2', 'string', rows('B'))).runId
    })
    expect(w.values).toEqual(['A', 'A', 'A']) // u1:A then nothing from run B
    expect(w.error).toMatchObject({
      code: 'conflict',
      status: 409,
      path: '/after',
      details: { runId: first.runId, currentRunId: second },
    })
    expect((w.error as Error).message).toMatch(/replaced.*start again from the first page/)
    // Starting again reads the new run whole.
    const again = await walk('L2', async () => {})
    expect(again.values).toEqual(Array(9).fill('B'))
    expect([...again.runs]).toEqual([second])
  })

  it('a swap that commits between resolving the pointer and reading the pinned table is a 409 too', async () => {
    await importRows(f.svc, 'L3', 'string', rows('A'))
    const p1 = await f.svc.audience('L3', 'string', { limit: 3 })
    // An executor that lets a run replace the results right before the page's SELECT reaches the table.
    let raced = false
    const racing: SqlExecutor = {
      ...f.db,
      query: async (sql, params) => {
        if (!raced && /FROM res_\d+ r JOIN users/.test(sql)) {
          raced = true
          await importRows(f.svc, 'L3', 'string', rows('B'))
        }
        return f.db.query(sql, params)
      },
    }
    await expect(labelAudience(racing, 'L3', { limit: 3, after: p1.nextCursor as string })).rejects.toMatchObject({
      code: 'conflict',
    })
    expect(raced).toBe(true)
  })

  it('a label whose results were removed answers 409 for a later page', async () => {
    await importRows(f.svc, 'L4', 'string', rows('A'))
    const p1 = await f.svc.audience('L4', 'string', { limit: 3 })
    await f.db.query('DELETE FROM label_state WHERE label_id = $1', ['L4'])
    await expect(f.svc.audience('L4', 'string', { limit: 3, after: p1.nextCursor as string })).rejects.toMatchObject({
      code: 'conflict',
      details: { currentRunId: null },
    })
  })
})
