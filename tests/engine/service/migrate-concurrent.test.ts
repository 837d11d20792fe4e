import { describe, expect, it } from 'vitest'
import { openPostgres } from '../../../engine/adapters/pg.ts'
import { EngineService } from '../../../engine/service.ts'
import { withXactLock } from '../../../engine/sql-executor.ts'
import { lockCatalogue } from '../../../engine/storage/extend.ts'
import { citusUrl, dbKinds, newDb } from '../../helpers/db.ts'

// Several server processes started at once on one empty PostgreSQL schema each migrate it
// (issue 11). Concurrent CREATE … IF NOT EXISTS collide in PostgreSQL's catalogue unless the
// migration is serialised; CI saw a process exit on "pg_type_typname_nsp_index".
// The server engines of this run: PostgreSQL in `npm test`, Citus in CI's TEST_DB_KINDS=citus pass
// (never beside tests/engine/citus, which stops a worker).
const urls = { postgres: process.env.TEST_DATABASE_URL, citus: citusUrl }
const kinds = dbKinds().filter((k): k is 'postgres' | 'citus' => k !== 'pglite')
if (kinds.length === 0) it.skip('needs TEST_DATABASE_URL (or TEST_CITUS_URL with TEST_DB_KINDS=citus)', () => {})

for (const kind of kinds)
  describe(`migrate from several processes at once [${kind}]`, () => {
    it('four engines migrating one empty schema concurrently all succeed, three rounds', async () => {
      for (let round = 0; round < 3; round++) {
        const db = await newDb(kind)
        const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s
        const others = await Promise.all([0, 1, 2, 3].map(() => openPostgres(urls[kind] as string, { schema, max: 4 })))
        try {
          const results = await Promise.allSettled(others.map((o) => new EngineService(o).migrate()))
          expect(
            results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
          ).toEqual([])
          const t = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('users', 'label_state')`,
            [schema],
          )
          expect(t.rows[0]?.n).toBe(2)
        } finally {
          for (const o of others) await o.close()
          await db.dispose()
        }
      }
    })

    it("the start-up and catalogue locks are per schema: another workspace's never waits for them", async () => {
      const a = await newDb(kind)
      const b = await newDb(kind)
      try {
        await withXactLock(a, 'labels-migrate', async () => {
          await a.transaction(async (ta) => {
            await lockCatalogue(ta)
            // The same names in another schema of the same database: taken at once (a wait would time out).
            await b.transaction(async (tb) => {
              await tb.query(`SET LOCAL lock_timeout = '2s'`)
              await withXactLock(tb, 'labels-migrate', async () => {})
              await lockCatalogue(tb)
            })
          })
        })
        // In the same schema they do wait.
        await a.transaction(async (ta) => {
          await lockCatalogue(ta)
          const err = await a
            .transaction(async (t2) => {
              await t2.query(`SET LOCAL lock_timeout = '200ms'`)
              await lockCatalogue(t2)
            })
            .catch((e: unknown) => e)
          expect(String(err)).toMatch(/lock timeout/)
        })
      } finally {
        await a.dispose()
        await b.dispose()
      }
    })
  })
