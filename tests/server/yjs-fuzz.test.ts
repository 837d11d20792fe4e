import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { Scheduler, systemClock } from '../../server/runs/scheduler.ts'
import {
  COLLAB_MAX_MESSAGE_BYTES,
  CollabClose,
  DEFAULT_GROUP_ID,
  createLabel,
  draftsOf,
  groupsOf,
  labelsOf,
  projectWorkspace,
  type DocOrigin,
} from '../../shared/doc/index.ts'
import { holdsPending } from '../../shared/doc/update-deps.ts'
import { makeRng, type Rng } from '../../shared/prng.ts'
import { describeEachDb, newDb, type TestDb } from '../helpers/db.ts'
import { labelInput } from '../shared/doc/helpers.ts'
import { comparable, expectInvariants } from '../shared/doc/invariants.ts'
import { newClient, newCollabServer, synced, until, type TestClient, type TestServer } from './collab/helpers.ts'

// Issue 12, "bad input": Yjs frames over the limit, random bytes, truncated varints, mangled
// updates and valid-but-schema-breaking raw writes, sent over real sockets to the real collab
// endpoint (registry, SQL store, a scheduler fed from the projection as in the app). The process
// lives, other clients keep syncing, nothing is kept pending, and every replica — the server's
// projection, two stock y-websocket clients and the raw writer — shows the same repaired
// workspace. The PRNG is seeded: a failure reproduces. Each kind reports what it tried and what
// became of it.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const SEED = 20261130
const PER_KIND = 120

const frameOf = (write: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}
const syncFrame = (sub: number, payload: Uint8Array) =>
  frameOf((e) => (encoding.writeVarUint(e, 0), encoding.writeVarUint(e, sub), encoding.writeVarUint8Array(e, payload)))
const STEP1_EMPTY = syncFrame(0, Y.encodeStateVector(new Y.Doc()))
const randomBytes = (rng: Rng, n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 255))

type Outcome = 'open' | number
interface Tally {
  tried: number
  outcomes: Record<string, number>
}

/**
 * A raw socket that sends one frame and then a sync step 1, and waits for the step 2 answer
 * (frames are handled in order, so the frame was handled) or for the close.
 */
class Prober {
  private ws: WebSocket | null = null
  private closed: Promise<number> = Promise.resolve(0)
  constructor(private readonly url: string) {}

  private async open(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws
    const ws = new WebSocket(this.url)
    ws.on('error', () => {})
    this.closed = new Promise((r) => ws.on('close', (code) => r(code)))
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('close', (code) => reject(new Error(`closed ${code} before open`)))
    })
    this.ws = ws
    return ws
  }

  async send(frame: Uint8Array): Promise<Outcome> {
    const ws = await this.open()
    const answered = new Promise<Outcome>((resolve) => {
      const onMessage = (d: Buffer) => {
        const m = new Uint8Array(d)
        if (m[0] === 0 && m[1] === 1) ws.off('message', onMessage), resolve('open')
      }
      ws.on('message', onMessage)
    })
    ws.send(frame)
    ws.send(STEP1_EMPTY)
    const outcome = await Promise.race([answered, this.closed])
    if (outcome !== 'open') this.ws = null
    return outcome
  }

  close(): void {
    this.ws?.close()
    this.ws = null
  }
}

/** A y-protocols client on a raw socket: its document syncs, and every local write is sent as is. */
async function rawYClient(url: string): Promise<{ doc: Y.Doc; synced: Promise<void>; close(): void }> {
  const doc = new Y.Doc()
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  let markSynced = () => {}
  const isSynced = new Promise<void>((r) => (markSynced = r))
  ws.on('message', (data: Buffer) => {
    const d = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(d) !== 0) return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    const sub = syncProtocol.readSyncMessage(d, e, doc, 'server')
    if (encoding.length(e) > 1) ws.send(encoding.toUint8Array(e))
    if (sub === syncProtocol.messageYjsSyncStep2) markSynced()
  })
  doc.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin !== 'server' && ws.readyState === WebSocket.OPEN) ws.send(syncFrame(2, u))
  })
  await new Promise<void>((r) => ws.once('open', () => r()))
  ws.send(syncFrame(0, Y.encodeStateVector(doc)))
  return { doc, synced: isSynced, close: () => ws.close() }
}

/** Puts a fresh Y.Map with these fields at `key` of `map`. */
function putMap(map: Y.Map<unknown>, key: string, fields: Record<string, unknown>): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(fields)) m.set(k, v)
  map.set(key, m)
  return m
}

const label = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  name: id,
  displayName: id,
  groupId: DEFAULT_GROUP_ID,
  order: 'a' + id,
  dataType: 'number',
  labelType: 'static',
  schedule: { kind: 'once' },
  enabled: true,
  description: '',
  rule: { method: 'import' },
  createdAt: '2020-01-01T00:00:00.000Z',
  ...over,
})

/** Schema-breaking writes a buggy or hostile editor can make with plain Yjs calls. */
const RAW_WRITES: Array<{ what: string; write(doc: Y.Doc): void }> = [
  { what: 'a label entry that is a string', write: (d) => labelsOf(d).set('l_string', 'not a map') },
  { what: 'a label entry that is a Y.Array', write: (d) => labelsOf(d).set('l_array', Y.Array.from([1, 2])) },
  { what: 'a group entry that is a number', write: (d) => groupsOf(d).set('g_number', 42) },
  { what: 'a draft entry that is a number', write: (d) => draftsOf(d).set('d_number', 7) },
  {
    what: 'a label whose every field has the wrong type',
    write: (d) =>
      void putMap(labelsOf(d), 'l_types', {
        id: 5,
        name: 42,
        displayName: ['x'],
        groupId: 7,
        order: {},
        dataType: 'bogus',
        labelType: 5,
        schedule: 'daily',
        enabled: 'yes',
        description: null,
        rule: 12,
        createdAt: 99,
        updatedAt: false,
      }),
  },
  {
    what: 'a label whose fields are nested Y types',
    write: (d) => {
      const m = putMap(labelsOf(d), 'l_ytypes', label('l_ytypes'))
      m.set('name', new Y.Text('text_name'))
      m.set('rule', Y.Array.from([{ method: 'metric' }]))
      m.set('schedule', new Y.Map())
    },
  },
  {
    what: 'a dynamic label with a weekly schedule whose weekday is a string',
    write: (d) =>
      void putMap(
        labelsOf(d),
        'l_weekday',
        label('l_weekday', { labelType: 'dynamic', schedule: { kind: 'weekly', weekday: 'x', at: '08:00' } }),
      ),
  },
  {
    what: 'a dynamic label with a daily schedule without a time',
    write: (d) =>
      void putMap(labelsOf(d), 'l_noat', label('l_noat', { labelType: 'dynamic', schedule: { kind: 'daily' } })),
  },
  {
    what: 'a dynamic label with day 99 at 25:99',
    write: (d) =>
      void putMap(
        labelsOf(d),
        'l_day99',
        label('l_day99', { labelType: 'dynamic', schedule: { kind: 'monthly', day: 99, at: '25:99' } }),
      ),
  },
  {
    what: 'a dynamic label on day -5 of the month (the slot search never ended)',
    write: (d) =>
      void putMap(
        labelsOf(d),
        'l_dayneg',
        label('l_dayneg', { labelType: 'dynamic', schedule: { kind: 'monthly', day: -5, at: '08:00' } }),
      ),
  },
  {
    what: 'a dynamic label with an unknown schedule kind',
    write: (d) =>
      void putMap(
        labelsOf(d),
        'l_kind',
        label('l_kind', { labelType: 'dynamic', schedule: { kind: 'hourly', at: '08:00' } }),
      ),
  },
  {
    what: 'a label in a group that does not exist',
    write: (d) => void putMap(labelsOf(d), 'l_orphan', label('l_orphan', { groupId: 'g_missing' })),
  },
  {
    what: 'labels and groups with prototype names',
    write: (d) => {
      putMap(labelsOf(d), '__proto__', label('__proto__', { name: 'constructor' }))
      putMap(groupsOf(d), 'constructor', {
        id: 'constructor',
        name: 'toString',
        parentId: '__proto__',
        order: 'c',
        createdAt: '',
      })
    },
  },
  {
    what: 'a group whose parent is itself',
    write: (d) =>
      void putMap(groupsOf(d), 'g_self', {
        id: 'g_self',
        name: 'Self',
        parentId: 'g_self',
        order: 'g1',
        createdAt: '',
      }),
  },
  {
    what: 'a cycle of two groups',
    write: (d) => {
      putMap(groupsOf(d), 'g_a', { id: 'g_a', name: 'A', parentId: 'g_b', order: 'g2', createdAt: '' })
      putMap(groupsOf(d), 'g_b', { id: 'g_b', name: 'B', parentId: 'g_a', order: 'g3', createdAt: '' })
    },
  },
  {
    what: 'three levels of groups',
    write: (d) => {
      putMap(groupsOf(d), 'g_1', { id: 'g_1', name: 'One', parentId: null, order: 'g4', createdAt: '' })
      putMap(groupsOf(d), 'g_2', { id: 'g_2', name: 'Two', parentId: 'g_1', order: 'g5', createdAt: '' })
      putMap(groupsOf(d), 'g_3', { id: 'g_3', name: 'Three', parentId: 'g_2', order: 'g6', createdAt: '' })
    },
  },
  {
    what: 'a group whose name and parent are numbers',
    write: (d) => void putMap(groupsOf(d), 'g_numbers', { id: 1, name: 2, parentId: 3, order: 4, createdAt: 5 }),
  },
  {
    what: 'the Default group renamed and put under another group',
    write: (d) => {
      const g = groupsOf(d).get(DEFAULT_GROUP_ID) as Y.Map<unknown>
      g.set('name', 'Mine now')
      g.set('parentId', 'g_1')
    },
  },
  {
    what: 'a label claiming an old createdAt to take a used name',
    write: (d) =>
      void putMap(labelsOf(d), 'l_thief', label('l_thief', { name: 'taken', createdAt: '1970-01-01T00:00:00.000Z' })),
  },
  { what: 'the Default group deleted', write: (d) => groupsOf(d).delete(DEFAULT_GROUP_ID) },
]

describeEachDb('Yjs bad input over real sockets', (kind) => {
  let db: TestDb
  let server: TestServer
  let scheduler: Scheduler
  const stock: TestClient[] = []
  const report: Record<string, Tally> = {}
  const schedulerErrors: unknown[] = []
  const rest: DocOrigin = { kind: 'rest', actor: 'api' }

  const tally = (kindName: string, outcome: Outcome) => {
    const t = (report[kindName] ??= { tried: 0, outcomes: {} })
    t.tried++
    const key = outcome === 'open' ? 'handled, socket open' : `closed ${outcome}`
    t.outcomes[key] = (t.outcomes[key] ?? 0) + 1
  }

  beforeAll(async () => {
    db = await newDb(kind)
    let live: Awaited<ReturnType<TestServer['registry']['get']>> | null = null
    server = await newCollabServer(db, {
      onDocChange: () => void scheduler.refresh().catch((e: unknown) => schedulerErrors.push(e)),
    })
    live = await server.registry.get('main')
    const doc = live.doc
    scheduler = new Scheduler({
      clock: systemClock,
      tz: 'UTC',
      listLabels: () => projectWorkspace(doc).labels,
      queue: { trigger: async () => undefined },
      slots: { claim: async () => false, last: async () => null },
      onError: (e) => schedulerErrors.push(e),
    })
    await scheduler.start()
    createLabel(doc, labelInput('taken'), rest)
    await live.flushed()
    stock.push(newClient(server.url, 'ed1'), newClient(server.url, 'ed2'))
    await Promise.all(stock.map(synced))
  })

  afterAll(async () => {
    console.log(
      `[yjs-fuzz ${kind}] seed ${SEED}\n` +
        Object.entries(report)
          .map(
            ([k, t]) =>
              `  ${k}: ${t.tried} tried → ${Object.entries(t.outcomes)
                .map(([o, n]) => `${n} ${o}`)
                .join(', ')}`,
          )
          .join('\n'),
    )
    await scheduler?.stop()
    stock.forEach((c) => c.destroy())
    await server?.close()
    await db?.dispose()
  })

  /** The stock clients still sync both ways: an edit of one reaches the other and the server. */
  async function stockClientsSync(tag: string): Promise<void> {
    const [a, b] = stock as [TestClient, TestClient]
    createLabel(a.doc, labelInput(`alive_${tag}`), { kind: 'local', actor: 'alice' })
    const live = await server.registry.get('main')
    await until(
      () => [b.doc, live.doc].every((d) => projectWorkspace(d).labels.some((l) => l.name === `alive_${tag}`)),
      60_000,
      `edit ${tag} reached b and the server`,
    )
  }

  it('frames over the limit close the socket (4413) and are never applied', async () => {
    const rng = makeRng(SEED)
    const url = `${server.url}/main?token=ed1`
    const big = COLLAB_MAX_MESSAGE_BYTES + 1
    const frames = [
      syncFrame(2, randomBytes(rng, big)),
      frameOf((e) => (encoding.writeVarUint(e, 1), encoding.writeVarUint8Array(e, randomBytes(rng, big)))),
      randomBytes(rng, big + 10),
    ]
    for (const f of frames) {
      const p = new Prober(url)
      const outcome = await p.send(f)
      tally('over the limit', outcome)
      expect(outcome).toBe(CollabClose.tooLarge)
    }
    await stockClientsSync('big')
  })

  it('random bytes, random payloads in sync frames, and truncated varints never break the server', async () => {
    const rng = makeRng(SEED + 1)
    const p = new Prober(`${server.url}/main?token=ed1`)
    for (let i = 0; i < PER_KIND; i++) tally('random bytes', await p.send(randomBytes(rng, rng.int(1, 600))))
    for (let i = 0; i < PER_KIND; i++)
      tally(
        'random update in a sync frame',
        await p.send(syncFrame(rng.pick([1, 2]), randomBytes(rng, rng.int(0, 600)))),
      )
    // Truncated varints: continuation bits with nothing after them, at each level of the frame.
    const truncated = [
      Uint8Array.of(0x80),
      Uint8Array.of(0xff, 0xff),
      Uint8Array.of(0, 0x80),
      Uint8Array.of(0, 2, 0x80),
      Uint8Array.of(0, 2, 0xff, 0xff, 0xff),
      Uint8Array.of(1, 0x80),
      Uint8Array.of(0, 2, 3, 1, 0x80, 0x80),
      Uint8Array.of(0, 0, 1, 0x80),
      Uint8Array.of(0, 2, 2, 0, 0x80),
      Uint8Array.of(0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    ]
    for (const f of truncated) {
      const outcome = await p.send(f)
      tally('truncated varint', outcome)
      expect(outcome).toBe(CollabClose.malformed)
    }
    // Every prefix of a real update frame (most end inside a varint or a string).
    const src = new Y.Doc()
    src.clientID = 4711 // fixed ids: the same bytes every run
    createLabel(src, labelInput('prefix_src'), rest, { id: 'l_prefix', now: new Date('2026-01-01T00:00:00Z') })
    const whole = syncFrame(2, Y.encodeStateAsUpdate(src))
    for (let n = 1; n < whole.length; n += Math.max(1, Math.floor(whole.length / PER_KIND)))
      tally('truncated update frame', await p.send(whole.slice(0, n)))
    p.close()
    await stockClientsSync('random')
  })

  it('mangled real updates (bytes flipped, cut, spliced) are refused or applied whole, never kept pending', async () => {
    const rng = makeRng(SEED + 2)
    const p = new Prober(`${server.url}/main?token=ed2`)
    const live = await server.registry.get('main')
    const labelsBefore = labelsOf(live.doc).size
    for (let i = 0; i < PER_KIND; i++) {
      const src = new Y.Doc()
      Y.applyUpdate(src, Y.encodeStateAsUpdate(live.doc))
      const before = Y.encodeStateVector(src)
      createLabel(src, labelInput(`mangled_${i}`), rest)
      const update = Y.encodeStateAsUpdate(src, before)
      const bytes = Uint8Array.from(update)
      const flips = rng.int(1, 4)
      for (let f = 0; f < flips; f++) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255)
      tally('mangled update', await p.send(syncFrame(2, bytes)))
      src.destroy()
    }
    p.close()
    report['mangled update']!.outcomes['of which applied (label maps added)'] = labelsOf(live.doc).size - labelsBefore
    expect(holdsPending(live.doc)).toBe(false)
    await stockClientsSync('mangled')
  })

  it('schema-breaking raw writes: every replica shows the same repaired workspace, the scheduler keeps working', async () => {
    const raw = await rawYClient(`${server.url}/main?token=ed1`)
    await raw.synced
    const live = await server.registry.get('main')
    for (const w of RAW_WRITES) {
      w.write(raw.doc)
      tally('schema-breaking raw write', 'open')
    }
    const replicas = [live.doc, ...stock.map((c) => c.doc), raw.doc]
    const view = (d: Y.Doc) => JSON.stringify(comparable(projectWorkspace(d)))
    await until(
      () =>
        replicas.every((d) => labelsOf(d).has('l_thief') && !labelsOf(d).has('l_string')) &&
        new Set(replicas.map(view)).size === 1,
      60_000,
      'replicas agree after the repair',
    )
    for (const d of replicas) expectInvariants(d)
    const p = projectWorkspace(live.doc)
    expect(p.repairs).toEqual([]) // the server wrote the repair back; every replica has it
    // The name stays with the label that had it: a raw createdAt doesn't win it.
    expect(p.duplicates.find((x) => x.name === 'taken')?.labelIds[0]).not.toBe('l_thief')
    expect(p.groupsById[DEFAULT_GROUP_ID]).toMatchObject({ name: 'Default', parentId: null })
    // Junk schedules read as the label type's default, the same everywhere, so the scheduler can use them.
    for (const id of ['l_weekday', 'l_noat', 'l_day99', 'l_dayneg', 'l_kind'])
      expect(p.labels.find((l) => l.id === id)?.schedule).toEqual({ kind: 'daily', at: '00:00' })
    await scheduler.settled()
    expect(schedulerErrors).toEqual([])
    for (const l of p.labels) expect(() => scheduler.nextRunAt(l)).not.toThrow()
    raw.close()
    expect(holdsPending(live.doc)).toBe(false)
    await stockClientsSync('raw')
  })

  it('the stored document loads again as every replica shows it', async () => {
    const live = await server.registry.get('main')
    await live.flushed()
    const before = JSON.stringify(comparable(projectWorkspace(live.doc)))
    stock.forEach((c) => c.destroy())
    stock.length = 0
    await scheduler.stop()
    await server.close()
    server = await newCollabServer(db)
    const again = await server.registry.get('main')
    expect(JSON.stringify(comparable(projectWorkspace(again.doc)))).toBe(before)
    expect(holdsPending(again.doc)).toBe(false)
  })
})
