/**
 * A child process of `npm run bench -- soak`: a share of the soak's editors, each a WebSocket
 * client speaking the y-websocket protocol (sync step 1/2, then updates), each renaming its own
 * group every 1–3 s. They take the server's state once (sync step 2) and then apply nothing the
 * server relays: an editor only renames its own group, so its updates depend only on what it
 * has. The stock y-websocket client applies every relayed update, and 200 of them in the bench's
 * own process made the bench the bottleneck (its event-loop p99 was 5.7 s on 2 cores): the
 * server's relay to every editor is still measured, the editors' own Yjs work is not.
 *
 * argv: collab URL, then JSON {tokens: string[], first: number, prefix: string}. Prints
 * `{"ready":n}` once every editor is synced and has created its group, waits for `go <endMs>`
 * on stdin, renames until endMs, prints `{"done":…}` and exits.
 */
import { createInterface } from 'node:readline'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import WebSocket from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { createGroup, renameGroup } from '../shared/doc/index.ts'

const fromServer = Symbol('server')
const messageSync = 0

/** One editor: a Y.Doc filled once from the server, then only written to. */
class LightEditor {
  readonly doc = new Y.Doc()
  private readonly ws: WebSocket
  readonly synced: Promise<void>
  sent = 0

  constructor(url: string, token: string) {
    this.ws = new WebSocket(`${url}/main?token=${encodeURIComponent(token)}`)
    this.ws.binaryType = 'arraybuffer'
    let live = false
    this.synced = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () =>
        this.send((e) => (encoding.writeVarUint(e, messageSync), syncProtocol.writeSyncStep1(e, this.doc))),
      )
      this.ws.on('message', (data: ArrayBuffer) => {
        if (live) return // other editors' renames: relayed (and counted by the server), not applied
        const d = decoding.createDecoder(new Uint8Array(data))
        if (decoding.readVarUint(d) !== messageSync) return
        const reply = encoding.createEncoder()
        encoding.writeVarUint(reply, messageSync)
        const sub = syncProtocol.readSyncMessage(d, reply, this.doc, fromServer)
        if (encoding.length(reply) > 1) this.ws.send(encoding.toUint8Array(reply))
        if (sub === syncProtocol.messageYjsSyncStep2) {
          live = true
          resolve()
        }
      })
      this.ws.once('error', reject)
      this.ws.once('close', (code) => reject(new Error(`closed ${code} before sync`)))
    })
    this.doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === fromServer || this.ws.readyState !== WebSocket.OPEN) return
      this.sent++
      this.send((e) => (encoding.writeVarUint(e, messageSync), syncProtocol.writeUpdate(e, u)))
    })
  }

  private send(write: (e: encoding.Encoder) => void): void {
    const e = encoding.createEncoder()
    write(e)
    this.ws.send(encoding.toUint8Array(e))
  }

  close(): void {
    this.ws.close()
    this.doc.destroy()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  const url = process.argv[2]!
  const o = JSON.parse(process.argv[3]!) as { tokens: string[]; first: number; prefix: string }
  const origin = { kind: 'local', actor: 'soak' } as const
  const editors: LightEditor[] = []
  for (let k = 0; k < o.tokens.length; k += 20) {
    const batch = o.tokens.slice(k, k + 20).map((t) => new LightEditor(url, t))
    editors.push(...batch)
    await Promise.all(batch.map((e) => e.synced))
  }
  const groups = editors.map(
    (e, k) => createGroup(e.doc, { name: `${o.prefix}-${o.first + k}-0-${Date.now()}` }, origin).id,
  )
  console.log(JSON.stringify({ ready: editors.length }))
  const line = await new Promise<string>((r) => createInterface({ input: process.stdin }).once('line', r))
  const end = Number(line.split(' ')[1])
  let errors = 0
  const errorSamples: string[] = []
  const last: string[] = []
  await Promise.all(
    editors.map(async (e, k) => {
      let seq = 0
      while (Date.now() < end) {
        await sleep(1000 + Math.random() * 2000)
        const name = `${o.prefix}-${o.first + k}-${++seq}-${Date.now()}`
        try {
          renameGroup(e.doc, groups[k]!, name, origin)
          last[k] = name
        } catch (err) {
          errors++
          if (errorSamples.length < 5) errorSamples.push(String(err).slice(0, 200))
        }
      }
    }),
  )
  await sleep(500) // the last renames leave the socket
  const sent = editors.reduce((n, e) => n + e.sent, 0)
  for (const e of editors) e.close()
  console.log(JSON.stringify({ done: true, sent, errors, errorSamples, last: last.filter(Boolean) }))
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
