/**
 * Draft typists (bench/collab-drafts.ts `startTypists`) in a process of their own, for the Chromium
 * pair (bench/collab-pair.ts `--typists-nice N`): the other operators of "20 operators on one
 * draft" each have their own machine, so on this one their clients can run at a lower CPU priority
 * than the server and the two measured pages (`nice`), instead of sharing the bench's event loop
 * and the cores at the same priority. They still connect through the stock y-websocket client and
 * type into the same draft at the same rate; the parent prints how many keystrokes they made.
 *
 *   const t = await startTypistProcess({ collab, token, draftId, typists: 18, rate: 5, nice: 19 })
 *   t.start(); …; const { keystrokes, p99 } = await t.stop()
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { round, pct } from './collab.ts'
import { closeReplica, connectReplica, startTypists, whenSynced } from './collab-drafts.ts'

export interface TypistOptions {
  collab: string
  token: string
  draftId: string
  typists: number
  rate: number
  /** The process's niceness (0 = the same priority as the bench; 19 = the lowest). */
  nice: number
}

type FromChild = { ready: true } | { keystrokes: number; p99: number } | { error: string }

export interface TypistProcess {
  start(): void
  /** Stops typing; the keystrokes typed and the typists' own p99 (ms) of seeing each other's. */
  stop(): Promise<{ keystrokes: number; p99: number }>
  kill(): void
}

/** Starts the child, resolved once its typists are connected and synced (not typing yet). */
export function startTypistProcess(o: TypistOptions): Promise<TypistProcess> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(o)]
  const child: ChildProcess = spawn('nice', ['-n', String(o.nice), process.execPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = () =>
    new Promise<FromChild>((resolve, reject) => {
      const onExit = (c: number | null) => reject(new Error(`the typist process exited with ${c}`))
      child.once('exit', onExit)
      child.once('message', (m: FromChild) => {
        child.off('exit', onExit)
        if ('error' in m) reject(new Error(`typist process: ${m.error}`))
        else resolve(m)
      })
    })
  return next().then(() => ({
    start: () => child.send('start'),
    stop: async () => {
      const done = next()
      child.send('stop')
      const r = (await done) as { keystrokes: number; p99: number }
      child.disconnect()
      return r
    },
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }))
}

async function child(o: TypistOptions): Promise<void> {
  const send = (m: FromChild) => process.send!(m)
  const ops = Array.from({ length: o.typists }, () => connectReplica(o.collab, o.token))
  try {
    await Promise.all(ops.map(whenSynced))
    const samples: number[] = []
    let stop: (() => Promise<number>) | null = null
    process.on('message', (m: string) => {
      if (m === 'start') stop = startTypists(ops, o.draftId, o.rate, samples)
      else if (m === 'stop')
        void (stop ?? (async () => 0))().then((keystrokes) => {
          send({ keystrokes, p99: round(pct(samples, 99)) })
          ops.forEach(closeReplica)
          process.exit(0)
        })
    })
    send({ ready: true })
  } catch (e) {
    send({ error: String(e) })
    process.exit(1)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await child(JSON.parse(process.argv[2]!) as TypistOptions)
