import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { updateLabel } from '../../shared/doc/index.ts'
import type { DocWorkspace } from '../../server/workspace/doc-workspace.ts'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

const rule = (days: number, min = 1) => ({
  method: 'custom',
  values: [
    {
      value: 'VIP',
      when: {
        all: [
          { event: 'purchase', window: { lastDays: days }, op: 'gte', value: min },
          { attribute: 'city', op: 'eq', value: 'Paris' },
        ],
      },
    },
    { value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } },
  ],
  otherwise: 'none',
})

describeEachDb('label versions and before/after', (kind) => {
  let s: TestServer
  const inject = (o: InjectOptions) => s.app.inject(o)
  const versions = async (label: string) =>
    (await inject({ url: `/api/labels/${label}/versions`, headers: auth('viewer') })).json().versions as Array<{
      n: number
      kind: string
      actor: string
      via: string
      changes: Array<{ text: string; path: string }>
      restoredFrom?: number
    }>
  const patch = (label: string, payload: Record<string, unknown>, role: 'editor' | 'admin' = 'editor') =>
    inject({ method: 'PATCH', url: `/api/labels/${label}`, payload, headers: auth(role) })

  beforeAll(async () => {
    s = await newServer(kind)
    const users = Array.from({ length: 40 }, (_, i) => ({
      user_id: `u${i}`,
      properties: { city: i % 3 === 0 ? 'Paris' : 'Rome' },
    }))
    const day = 86_400_000
    const now = Date.now()
    const events = Array.from({ length: 120 }, (_, i) => ({
      user_id: `u${(i * 7) % 40}`,
      event: 'purchase',
      time: new Date(now - ((i * 13) % 60) * day - 3600_000).toISOString(),
      properties: { amount: (i * 37) % 500 },
    }))
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/data/users',
          payload: ndjson(users),
          headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
        })
      ).statusCode,
    ).toBe(200)
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/data/events',
          payload: ndjson(events),
          headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
        })
      ).statusCode,
    ).toBe(200)
  })
  afterAll(async () => {
    await s?.close()
  })

  describe('versions', () => {
    it('a new label is version 1, created by its REST author, every field listed', async () => {
      const r = await inject({
        method: 'POST',
        url: '/api/labels',
        payload: { name: 'tier', displayName: 'Tier', dataType: 'string', labelType: 'dynamic', rule: rule(30) },
        headers: auth('editor'),
      })
      expect(r.statusCode).toBe(201)
      const v = await versions('tier')
      expect(v).toHaveLength(1)
      expect(v[0]).toMatchObject({ n: 1, kind: 'created', actor: 'eve', via: 'rest' })
      expect(v[0]!.changes.map((c) => c.text)).toContain('display name set to "Tier"')
    })

    it('each REST edit of the rule is a version with a readable diff, newest first', async () => {
      expect((await patch('tier', { rule: rule(7) })).statusCode).toBe(200)
      expect((await patch('tier', { rule: rule(7, 2) }, 'admin')).statusCode).toBe(200)
      const v = await versions('tier')
      expect(v.map((x) => [x.n, x.kind, x.actor])).toEqual([
        [3, 'updated', 'ada'],
        [2, 'updated', 'eve'],
        [1, 'created', 'eve'],
      ])
      expect(v[1]!.changes).toEqual([
        expect.objectContaining({
          text: "Layer 1 'VIP': condition 1 window changed from last 30 days to last 7 days",
          path: '/rule/values/0/when/all/0/window',
        }),
      ])
      expect(v[0]!.changes.map((c) => c.text)).toEqual([
        "Layer 1 'VIP': condition 1 comparison changed from ≥ 1 to ≥ 2",
      ])
    })

    it('a move or an unchanged write is no version; a description is', async () => {
      const g = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Retention' },
        headers: auth('editor'),
      })
      expect((await patch('tier', { groupId: g.json().id })).statusCode).toBe(200)
      expect((await patch('tier', { rule: rule(7, 2) })).statusCode).toBe(200)
      expect((await versions('tier')).length).toBe(3)
      expect((await patch('tier', { description: 'Who buys in Paris' })).statusCode).toBe(200)
      const v = await versions('tier')
      expect(v[0]).toMatchObject({ n: 4, kind: 'updated' })
      // The move made no version of its own; the next version's diff shows it, by group name.
      expect(v[0]!.changes.map((c) => c.text)).toEqual([
        'group changed from "Default" to "Retention"',
        'description changed from empty to "Who buys in Paris"',
      ])
    })

    it('a browser edit is a version by the connection operator', async () => {
      const ws = s.app.workspace as DocWorkspace
      const id = s.app.workspace.findLabel('tier')!.id
      updateLabel(ws.doc, id, { displayName: 'Customer tier' }, { kind: 'remote', actor: 'alice' })
      await s.app.workspace.flushed()
      const v = await versions('tier')
      expect(v[0]).toMatchObject({ n: 5, actor: 'alice', via: 'remote', kind: 'updated' })
      expect(v[0]!.changes.map((c) => c.text)).toEqual(['display name changed from "Tier" to "Customer tier"'])
    })

    it('going back to an earlier definition is recorded as restored from it', async () => {
      expect((await patch('tier', { displayName: 'Tier' })).statusCode).toBe(200)
      const v = await versions('tier')
      expect(v[0]).toMatchObject({ n: 6, kind: 'restored', restoredFrom: 4 })
    })

    it('GET one version gives its full definition and diff; unknown n is 404, n=0 is 400', async () => {
      const r = await inject({ url: '/api/labels/tier/versions/2', headers: auth('viewer') })
      expect(r.statusCode).toBe(200)
      const v = r.json()
      expect(v).toMatchObject({
        n: 2,
        previous: 1,
        actor: 'eve',
        definition: { name: 'tier', displayName: 'Tier', dataType: 'string', groupId: 'default', rule: rule(7) },
      })
      expect(v.changes).toHaveLength(1)
      expect((await inject({ url: '/api/labels/tier/versions/99', headers: auth('viewer') })).statusCode).toBe(404)
      expect((await inject({ url: '/api/labels/tier/versions/0', headers: auth('viewer') })).statusCode).toBe(400)
      expect((await inject({ url: '/api/labels/nope/versions', headers: auth('viewer') })).statusCode).toBe(404)
      expect((await inject({ url: '/api/labels/tier/versions' })).statusCode).toBe(401)
    })

    it('each version is in the audit trail', async () => {
      const e = (await inject({ url: '/api/audit?action=label.version&limit=1000', headers: auth('admin') })).json()
        .entries as Array<{ target: string; details: { n: number } }>
      const id = s.app.workspace.findLabel('tier')!.id
      expect(
        e
          .filter((x) => x.target === id)
          .map((x) => x.details.n)
          .sort(),
      ).toEqual([1, 2, 3, 4, 5, 6])
    })

    it("a deleted label's history is kept, readable by its id", async () => {
      const c = await inject({
        method: 'POST',
        url: '/api/labels',
        payload: { name: 'gone', displayName: 'Gone', dataType: 'string', labelType: 'static', rule: rule(3) },
        headers: auth('editor'),
      })
      const id = c.json().id as string
      expect((await inject({ method: 'DELETE', url: '/api/labels/gone', headers: auth('editor') })).statusCode).toBe(
        204,
      )
      const v = await versions(id)
      expect(v.map((x) => [x.n, x.kind])).toEqual([
        [2, 'deleted'],
        [1, 'created'],
      ])
      expect(
        (await inject({ url: `/api/labels/${id}/versions/1`, headers: auth('viewer') })).json().definition.name,
      ).toBe('gone')
    })
  })

  describe('compare', () => {
    it('shows the current results beside the new rule and the transitions, matching a run of the new rule', async () => {
      const id = s.app.workspace.findLabel('tier')!.id
      const first = await until(async () => {
        const runs = (await inject({ url: `/api/labels/${id}/runs`, headers: auth('viewer') })).json().runs as Array<{
          status: string
          id: string
        }>
        return runs.length > 0 && runs.every((r) => r.status === 'succeeded' || r.status === 'failed') ? runs[0] : null
      })
      expect(first.status).toBe('succeeded')
      const cmp = await inject({
        method: 'POST',
        url: '/api/labels/tier/compare',
        payload: { rule: rule(60, 1) },
        headers: auth('editor'),
      })
      expect(cmp.statusCode).toBe(200)
      const c = cmp.json() as {
        current: { runId: string; items: Array<{ value: string; users: number }> }
        draft: { items: Array<{ value: string; users: number }> }
        transitions: Array<{ from: string | null; to: string | null; users: number }>
        changedUsers: number
      }
      expect(c.current.runId).toBe(first.id)
      expect(c.transitions.reduce((a, t) => a + t.users, 0)).toBe(40)

      // Per user: the current audience and the audience after running the new rule.
      const audience = async () => {
        const rows = (await inject({ url: `/api/labels/tier/users?format=json`, headers: auth('editor') })).json()
          .users as Array<{ userId: string; value: string }>
        return new Map(rows.map((r) => [r.userId, r.value]))
      }
      const before = await audience()
      expect((await patch('tier', { rule: rule(60, 1) })).statusCode).toBe(200)
      await until(async () => {
        const runs = (await inject({ url: `/api/labels/${id}/runs`, headers: auth('viewer') })).json().runs as Array<{
          status: string
          id: string
        }>
        return runs[0]!.id !== first.id && runs[0]!.status === 'succeeded'
      })
      const after = await audience()
      const expected = new Map<string, number>()
      for (let i = 0; i < 40; i++) {
        const k = JSON.stringify([before.get(`u${i}`) ?? null, after.get(`u${i}`) ?? null])
        expected.set(k, (expected.get(k) ?? 0) + 1)
      }
      const got = new Map(c.transitions.map((t) => [JSON.stringify([t.from, t.to]), t.users]))
      expect(got).toEqual(expected)
      expect(c.changedUsers).toBeGreaterThan(0)
    })

    it('is for editors, validates the rule, and 404s an unknown label', async () => {
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/labels/tier/compare',
            payload: { rule: rule(7) },
            headers: auth('viewer'),
          })
        ).statusCode,
      ).toBe(403)
      const bad = await inject({
        method: 'POST',
        url: '/api/labels/tier/compare',
        payload: { rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } }, dataType: 'number' },
        headers: auth('editor'),
      })
      expect(bad.statusCode).toBe(422)
      expect(bad.json().error.path).toBe('/rule/event')
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/labels/nope/compare',
            payload: { rule: rule(7) },
            headers: auth('editor'),
          })
        ).statusCode,
      ).toBe(404)
    })
  })
})
