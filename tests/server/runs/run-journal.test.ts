import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { readPendingRuns, RunJournal, type PendingRun } from '../../../server/runs/run-journal.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { auth, newServer } from '../helpers.ts'

const definition: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'buy', measure: { agg: 'count' } },
}
const pending = (id: string): PendingRun => ({
  id,
  labelId: 'l_gone',
  trigger: 'manual',
  asOf: '2026-12-01T00:00:00.000Z',
  createdAt: '2026-12-01T00:00:01.000Z',
  definition,
})

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

it('keeps acknowledged runs on disk until every one is stored, and reads back all but a torn last line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labels-journal-'))
  dirs.push(dir)
  const file = join(dir, 'runs-pending.ndjson')
  const j = new RunJournal(file)
  j.record(pending('r_a'))
  j.record(pending('r_b'))
  expect(readPendingRuns(file).map((r) => r.id)).toEqual(['r_a', 'r_b'])
  j.settled('r_a')
  // One still pending: the file keeps both lines (it is only emptied when none is).
  expect(readPendingRuns(file).map((r) => r.id)).toEqual(['r_a', 'r_b'])
  j.settled('r_b')
  expect(await readFile(file, 'utf8')).toBe('')
  j.record(pending('r_c'))
  j.close()
  await writeFile(file, `${await readFile(file, 'utf8')}{"id":"r_torn","labelId":"l`)
  expect(readPendingRuns(file)).toEqual([pending('r_c')])
})

describeEachDb('a run acknowledged before a crash', (kind) => {
  it('is stored at the next start and failed "interrupted", like a run the crash left queued', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'labels-journal-app-'))
    const file = join(dataDir, 'runs-pending.ndjson')
    await writeFile(file, `${JSON.stringify(pending('r_acked_then_killed'))}\n`)
    const s = await newServer(kind, { dataDir })
    try {
      const r = await s.app.inject({ url: '/api/runs/r_acked_then_killed', headers: auth('viewer') })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json()).toMatchObject({
        id: 'r_acked_then_killed',
        status: 'failed',
        error: 'interrupted',
        trigger: 'manual',
        asOf: '2026-12-01T00:00:00.000Z',
        createdAt: '2026-12-01T00:00:01.000Z',
      })
      expect(await readFile(file, 'utf8')).toBe('')
    } finally {
      await s.close()
    }
  })
})
