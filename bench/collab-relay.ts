/**
 * Relays across snapshots (issue 8): the server's LiveDoc over an on-disk PGlite store (as
 * `npm start` keeps documents), holding a workspace of `labels` labels; a replica makes draft
 * keystrokes (one key of a draft map, with its author) at `rate` a second, each applied as a
 * client's update; latency = the keystroke's update made → the server relays it (stored first).
 * Every 500 stored updates the server writes a snapshot of the whole document: before this
 * session that write stalled every relay behind it (seconds with 2,000 labels).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { openPglite, smallPgliteConf } from '../engine/adapters/pglite.ts'
import { createSqlDocStore } from '../server/collab/doc-store.ts'
import { LiveDoc } from '../server/collab/live-doc.ts'
import { createGroup, createLabel, type DocOrigin } from '../shared/doc/index.ts'
import { pct, round } from './collab.ts'

export interface RelayRow {
  bench: string
  labels: number
  updates: number
  snapshotKb: number
  p50ms: number
  p99ms: number
  maxms: number
  over100ms: number
  load1: number
}

export async function relayAcrossSnapshots(labels: number, updates: number, rate: number): Promise<RelayRow> {
  const dir = mkdtempSync(join(tmpdir(), 'labels-relay-'))
  const db = await openPglite(dir, { conf: smallPgliteConf })
  try {
    const store = await createSqlDocStore(db)
    const seed = new Y.Doc()
    const o: DocOrigin = { kind: 'local', actor: 'bench' }
    const groups = Array.from({ length: 20 }, (_, i) => createGroup(seed, { name: `G${i}` }, o).id)
    for (let l = 0; l < labels; l++)
      createLabel(
        seed,
        {
          name: `label_${l}`,
          displayName: `Label ${l}`,
          groupId: groups[l % groups.length]!,
          dataType: 'string',
          labelType: 'static',
          description: `Benchmark label number ${l}, imported values.`,
          rule: { method: 'import' },
        },
        o,
      )
    const snapshot = Y.encodeStateAsUpdate(seed)
    await store.compact('main', snapshot, 0)
    const live = await LiveDoc.load('main', { store })
    const client = new Y.Doc()
    Y.applyUpdate(client, Y.encodeStateAsUpdate(live.doc))
    const made: number[] = []
    const lat: number[] = []
    let relayed = 0
    live.subscribe({
      connectionId: 2,
      send() {},
      sendUpdate() {
        const t = made[relayed++]
        if (t !== undefined) lat.push(performance.now() - t)
      },
    })
    const from: DocOrigin = { kind: 'remote', actor: 'bench', connectionId: 1 }
    client.on('update', (u: Uint8Array) => {
      made.push(performance.now())
      live.applyRemote(u, from)
    })
    const draft = new Y.Map<unknown>()
    client.getMap('drafts').set('d_bench', draft)
    await live.flushed()
    made.length = relayed = lat.length = 0
    const t0 = performance.now()
    for (let i = 0; i < updates; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      client.transact(() => {
        draft.set('displayName', `v${i}`)
        draft.set('~by:displayName', 'bench')
      }, o)
    }
    await live.flushed()
    await live.close()
    return {
      bench: `draft keystroke relayed by the server, ${labels} labels in the document, snapshot every 500 (LiveDoc, on-disk PGlite)`,
      labels,
      updates,
      snapshotKb: round(snapshot.byteLength / 1024),
      p50ms: round(pct(lat, 50)),
      p99ms: round(pct(lat, 99)),
      maxms: round(Math.max(...lat)),
      over100ms: lat.filter((x) => x > 100).length,
      load1: round(loadavg()[0]!),
    }
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
