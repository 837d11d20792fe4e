/**
 * Issue-8 collaboration benchmarks with stock y-websocket clients in this process against the
 * whole app (bench/app-server.ts, a child process):
 *
 *  - draft keystrokes: N operators on one shared draft, each typing into its own layer value
 *    of the draft's rule through `editDraft` (one JSON-pointer `set` per keystroke, the value
 *    typed so far); latency = keystroke (before the operation) → the edit observed in every
 *    other operator's document (one process, one clock);
 *  - offline merge: replica A disconnects, makes 500 edits (labels, groups, draft fields) while
 *    replica B edits online, then A reconnects; time = reconnect → both replicas hold the same
 *    state vector and the same projections (workspace and drafts).
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import {
  createGroup,
  createLabel,
  draftsOf,
  editDraft,
  moveLabel,
  openDraft,
  projectDrafts,
  projectWorkspace,
  renameGroup,
  setDraftField,
  updateDraft,
  updateLabel,
  type DocOrigin,
} from '../shared/doc/index.ts'
import type { CustomRule } from '../shared/schemas/rule.ts'
import { pct, round, sleep } from './collab.ts'

export interface Replica {
  doc: Y.Doc
  provider: WebsocketProvider
}

/** A stock y-websocket client on the workspace `main`. */
export function connectReplica(collabUrl: string, token: string): Replica {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(collabUrl, 'main', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    disableBc: true,
  })
  return { doc, provider }
}

export const whenSynced = (r: Replica): Promise<void> =>
  r.provider.synced
    ? Promise.resolve()
    : new Promise<void>((res) => r.provider.once('sync', (s: boolean) => s && res()))

export function closeReplica(r: Replica): void {
  r.provider.destroy()
  r.doc.destroy()
}

/** Polls `ok` every 5 ms until true, or throws after `ms`. */
export async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** A custom rule with `n` layers, one per typist. */
export const layeredRule = (n: number): CustomRule => ({
  method: 'custom',
  values: Array.from({ length: n }, (_, i) => ({
    value: `layer ${i}`,
    when: { event: 'purchase', op: 'gte', value: i + 1 },
  })),
  otherwise: 'none',
})

/** Creates a label and its shared draft with an `layers`-layer rule, through `r`; returns the draft id. */
export async function setupDraft(
  r: Replica,
  name: string,
  layers: number,
): Promise<{ labelId: string; draftId: string }> {
  const origin: DocOrigin = { kind: 'local', actor: 'bench' }
  const label = createLabel(
    r.doc,
    { name, displayName: name, dataType: 'string', labelType: 'static', rule: { method: 'import' } },
    origin,
  )
  const draft = openDraft(r.doc, { labelId: label.id }, origin)
  updateDraft(r.doc, draft.id, { rule: layeredRule(layers) }, origin)
  return { labelId: label.id, draftId: draft.id }
}

const layerCount = (doc: Y.Doc, draftId: string): number => {
  const rule = projectDrafts(doc).byId[draftId]?.definition.rule
  return rule && rule.method === 'custom' ? rule.values.length : 0
}

/**
 * Typists on one draft: operator i writes `o<i>#<k>` into /rule/values/<i>/value at `rate`
 * keystrokes a second; every operator's document observer records the arrival latency of the
 * others' keystrokes. Returns a stop function that resolves to the keystroke count.
 */
export function startTypists(
  ops: Replica[],
  draftId: string,
  rate: number,
  samples: number[],
  firstLayer = 0,
): () => Promise<number> {
  const sent: number[][] = ops.map(() => [])
  const offBy = firstLayer
  for (const o of ops) {
    draftsOf(o.doc).observeDeep((events, tr) => {
      if (tr.local) return
      const now = performance.now()
      for (const e of events) {
        if (!(e instanceof Y.YMapEvent) || !e.keysChanged.has('value')) continue
        const m = /^o(\d+)#(\d+)$/.exec(String(e.target.get('value')))
        const at = m ? sent[Number(m[1]) - offBy]?.[Number(m[2])] : undefined
        if (at !== undefined) samples.push(now - at)
      }
    })
  }
  let keystrokes = 0
  const timers: Array<ReturnType<typeof setTimeout>> = []
  ops.forEach((o, i) => {
    const layer = firstLayer + i
    const origin: DocOrigin = { kind: 'local', actor: `op${layer}` }
    const tick = () => {
      const k = sent[i]!.length
      sent[i]!.push(performance.now())
      editDraft(o.doc, draftId, [{ op: 'set', path: `/rule/values/${layer}/value`, value: `o${layer}#${k}` }], origin)
      keystrokes++
      // Typing is irregular: ±50 % around the mean interval.
      timers[i] = setTimeout(tick, (1000 / rate) * (0.5 + Math.random()))
    }
    timers[i] = setTimeout(tick, Math.random() * (1000 / rate))
  })
  return async () => {
    timers.forEach((t) => clearTimeout(t))
    await sleep(500) // the last keystrokes land
    return keystrokes
  }
}

export interface DraftRow {
  bench: string
  operators: number
  rate: number
  seconds: number
  keystrokes: number
  deliveries: number
  expectedDeliveries: number
  p50ms: number
  p99ms: number
  maxms: number
  benchCpuPct: number
}

/** 20 (or `operators`) y-websocket operators typing into one draft for `seconds`. */
export async function draftKeystrokes(
  collabUrl: string,
  token: string,
  operators: number,
  rate: number,
  seconds: number,
): Promise<DraftRow> {
  const ops = Array.from({ length: operators }, () => connectReplica(collabUrl, token))
  try {
    await Promise.all(ops.map(whenSynced))
    const { draftId } = await setupDraft(ops[0]!, `draft_bench_${Date.now().toString(36)}`, operators)
    await waitFor(
      () => ops.every((o) => layerCount(o.doc, draftId) === operators),
      30_000,
      'the draft on every operator',
    )
    // Every operator "opens" the draft: joining writes nothing (at most one draft per label).
    const samples: number[] = []
    const t0 = performance.now(),
      cpu0 = process.cpuUsage()
    const stop = startTypists(ops, draftId, rate, samples)
    await sleep(seconds * 1000)
    const keystrokes = await stop()
    const wall = (performance.now() - t0) / 1000,
      cpu = process.cpuUsage(cpu0)
    return {
      bench: 'draft keystroke → other operators (Node clients)',
      operators,
      rate,
      seconds,
      keystrokes,
      deliveries: samples.length,
      expectedDeliveries: keystrokes * (operators - 1),
      p50ms: round(pct(samples, 50)),
      p99ms: round(pct(samples, 99)),
      maxms: round(Math.max(...samples)),
      benchCpuPct: round((100 * (cpu.user + cpu.system)) / 1e6 / wall),
    }
  } finally {
    ops.forEach(closeReplica)
  }
}

// ---------- offline merge ----------

interface Base {
  groupIds: string[]
  labelIds: string[]
  draftId: string
  layers: number
}

/** The workspace both replicas start from: 10 groups, 40 labels, one open draft with 8 layers. */
async function setupBase(r: Replica, tag: string): Promise<Base> {
  const origin: DocOrigin = { kind: 'local', actor: 'bench' }
  const groupIds: string[] = [],
    labelIds: string[] = []
  for (let g = 0; g < 10; g++) groupIds.push(createGroup(r.doc, { name: `merge ${tag} g${g}` }, origin).id)
  for (let l = 0; l < 40; l++) {
    const name = `merge_${tag}_l${l}`
    labelIds.push(
      createLabel(
        r.doc,
        {
          name,
          displayName: name,
          groupId: groupIds[l % 10]!,
          dataType: 'string',
          labelType: 'static',
          rule: { method: 'import' },
        },
        origin,
      ).id,
    )
  }
  const { draftId } = await setupDraft(r, `merge_${tag}_draft`, 8)
  return { groupIds, labelIds, draftId, layers: 8 }
}

/**
 * One offline session: `n` edits on replica `r`, spread like an operator's work — label
 * renames and descriptions, moves between groups, new labels, group renames and new groups,
 * draft layer values and draft fields. Each edit is its own transaction (as in the browser).
 */
function offlineEdits(r: Replica, base: Base, n: number, actor: string, tag: string): number {
  const origin: DocOrigin = { kind: 'local', actor }
  let failed = 0
  for (let i = 0; i < n; i++) {
    const label = base.labelIds[i % base.labelIds.length]!
    const group = base.groupIds[(i * 7) % base.groupIds.length]!
    try {
      switch (i % 10) {
        case 0:
        case 1:
          updateLabel(r.doc, label, { description: `${actor} note ${i}` }, origin)
          break
        case 2:
          updateLabel(r.doc, label, { displayName: `${actor} title ${i}` }, origin)
          break
        case 3:
          moveLabel(r.doc, label, { groupId: group, index: 0 }, origin)
          break
        case 4:
          i % 20 === 4
            ? createLabel(
                r.doc,
                {
                  name: `${tag}_${actor}_new${i}`,
                  displayName: `new ${i}`,
                  groupId: group,
                  dataType: 'string',
                  labelType: 'static',
                  rule: { method: 'import' },
                },
                origin,
              )
            : renameGroup(r.doc, group, `${tag} ${actor} group ${i}`, origin)
          break
        case 5:
          i % 50 === 5
            ? createGroup(r.doc, { name: `${tag} ${actor} new group ${i}` }, origin)
            : renameGroup(r.doc, group, `${tag} ${actor} g ${i}`, origin)
          break
        case 6:
        case 7:
        case 8:
          editDraft(
            r.doc,
            base.draftId,
            [{ op: 'set', path: `/rule/values/${i % base.layers}/value`, value: `${actor} v${i}` }],
            origin,
          )
          break
        case 9:
          setDraftField(
            r.doc,
            base.draftId,
            i % 20 === 9 ? 'displayName' : 'description',
            `${actor} draft ${i}`,
            origin,
          )
          break
      }
    } catch {
      failed++
    }
  }
  return n - failed
}

/** JSON with object keys sorted: Y.Map iteration order follows arrival order, which differs between replicas. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  )
const snapshot = (doc: Y.Doc) => canonical([projectWorkspace(doc), projectDrafts(doc)])
const sameState = (a: Y.Doc, b: Y.Doc) =>
  Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b))) && snapshot(a) === snapshot(b)

export interface MergeRow {
  bench: string
  run: number
  offlineEdits: number
  onlineEdits: number
  offlineUpdateKb: number
  agreeMs: number
}

/** `runs` offline sessions of `edits` edits each; each run starts from fresh replicas. */
export async function offlineMerge(collabUrl: string, token: string, edits: number, runs: number): Promise<MergeRow[]> {
  const rows: MergeRow[] = []
  const seed = connectReplica(collabUrl, token)
  await whenSynced(seed)
  const tag = Date.now().toString(36)
  const base = await setupBase(seed, tag)
  const seen = () => layerCount(seed.doc, base.draftId) === base.layers
  await waitFor(seen, 10_000, 'the base workspace')
  closeReplica(seed)
  for (let run = 1; run <= runs; run++) {
    const a = connectReplica(collabUrl, token),
      b = connectReplica(collabUrl, token)
    try {
      await Promise.all([whenSynced(a), whenSynced(b)])
      await waitFor(
        () => layerCount(a.doc, base.draftId) === base.layers && layerCount(b.doc, base.draftId) === base.layers,
        10_000,
        'replicas synced',
      )
      a.provider.disconnect()
      await waitFor(() => !a.provider.wsconnected, 5000, 'A to go offline')
      const before = Y.encodeStateVector(a.doc)
      const offline = offlineEdits(a, base, edits, 'alice', `${tag}r${run}`)
      const online = offlineEdits(b, base, Math.round(edits / 10), 'bob', `${tag}r${run}b`)
      const offlineUpdateKb = round(Y.encodeStateAsUpdate(a.doc, before).byteLength / 1024)
      await sleep(500) // B's edits are stored and relayed before A comes back
      let agreedAt = 0
      const check = () => {
        if (!agreedAt && sameState(a.doc, b.doc)) agreedAt = performance.now()
      }
      a.doc.on('update', check)
      b.doc.on('update', check)
      const t0 = performance.now()
      a.provider.connect()
      await waitFor(() => (check(), agreedAt > 0), 30_000, 'both replicas to agree')
      rows.push({
        bench: 'merge after offline session (Node clients)',
        run,
        offlineEdits: offline,
        onlineEdits: online,
        offlineUpdateKb,
        agreeMs: round(agreedAt - t0),
      })
    } finally {
      closeReplica(a)
      closeReplica(b)
    }
  }
  return rows
}
