import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { compileRule } from '../../../engine/compiler/index.ts'
import { compileRuleShared, planSharedScans } from '../../../engine/compiler/shared-scans.ts'
import { buildScans } from '../../../engine/calc/refresh.ts'
import { loadCatalogue, type Catalogue } from '../../../engine/storage/catalogue.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { evaluateRule } from '../../helpers/reference.ts'
import { ruleArb } from '../../helpers/rule-arbitraries.ts'
import { ASOF, comparable, generateData, loadData, runCompiled } from '../../helpers/rule-data.ts'

// ---- the property ----

const datasets = [
  { seed: 7, tz: 'America/New_York' },
  { seed: 99, tz: 'Pacific/Chatham' }, // +13:45 / +12:45: local days far from UTC days
]

for (const { seed, tz } of datasets) {
  describeEachDb(`random rules over random data (seed ${seed}, ${tz}): SQL equals the reference`, (kind) => {
    const data = generateData(seed, { users: 120, events: 1500 })
    let db: TestDb
    let catalogue: Catalogue
    beforeAll(async () => {
      db = await newDb(kind)
      await loadData(db, data)
      catalogue = await loadCatalogue(db)
    })
    afterAll(async () => {
      await db.dispose()
    })

    it('holds for every generated rule', async () => {
      const ctx = () => ({ catalogue, asOf: ASOF, tz })
      await fc.assert(
        fc.asyncProperty(ruleArb, async (def) => {
          const got = await runCompiled(db, compileRule(def, ctx()))
          expect(comparable(got)).toEqual(comparable(evaluateRule(data, def, ctx())))
        }),
        { numRuns: 150, seed: seed * 1000 + (kind === 'pglite' ? 1 : 2) },
      )
    })

    it('holds for random refresh workloads: with shared scans each rule gets its result alone, and the reference', async () => {
      const ctx = () => ({ catalogue, asOf: ASOF, tz })
      await fc.assert(
        fc.asyncProperty(fc.array(ruleArb, { minLength: 2, maxLength: 10 }), async (defs) => {
          const plan = planSharedScans(defs, ctx())
          const tables: string[] = []
          try {
            const lookup = await buildScans(db, plan, tables)
            for (const def of defs) {
              const got = await runCompiled(db, compileRuleShared(def, ctx(), lookup))
              expect(got).toEqual(await runCompiled(db, compileRule(def, ctx())))
              expect(comparable(got)).toEqual(comparable(evaluateRule(data, def, ctx())))
            }
          } finally {
            for (const t of tables) await db.exec(`DROP TABLE IF EXISTS ${t}`)
          }
        }),
        { numRuns: 25, seed: seed * 1000 + (kind === 'pglite' ? 3 : 4) },
      )
    })
  })
}
