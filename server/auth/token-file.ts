import { type FSWatcher, lstatSync, watch as fsWatch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { parseTokens, type TokenRegistry } from './tokens.ts'

/**
 * LABELS_TOKENS_FILE: the operators' tokens in a file (the LABELS_TOKENS syntax, entries
 * separated by commas or new lines, lines starting with `#` ignored), re-read while the server runs, so an
 * admin can add, withdraw or lower a token without a restart. A lowered role applies to the
 * next request and to the next write of an open collaboration socket; a withdrawn token's
 * sockets are closed (4401). A file that doesn't parse keeps the tokens in force.
 */
export class TokenFile {
  constructor(
    readonly path: string,
    private readonly registry: TokenRegistry,
  ) {}

  /** Reads the file and puts its tokens in force; throws (changing nothing) when it is not valid. */
  async reload(): Promise<void> {
    this.registry.replace(await readTokenFile(this.path))
  }

  /**
   * Re-reads on SIGHUP and when the file changes. Returns the stop function.
   *
   * The watch is on the file's directory, not on the file: editors and `mv` replace the file
   * (a new inode), and an admin may delete it and write it again; a watch on the directory sees
   * all of these. Changes are read once they settle (SETTLE_MS without a new event, at most
   * MAX_WAIT_MS after the first), so a truncate followed by a write is read as the write, and
   * re-reads run one at a time, so a change seen while one runs is read after it, never lost
   * and never overtaken by an older read. While the path is a symbolic link (a mounted secret
   * swaps the link's target), it is re-read on any event in its directory; whether it is one is
   * looked at on each event, so a file later replaced by a link is followed too. A watch that
   * can't be set up or fails (the directory is missing or replaced) is logged once and retried
   * every RETRY_MS; SIGHUP re-reads meanwhile.
   */
  watch(log: { info(msg: string): void; error(msg: string): void }): () => void {
    let stopped = false
    let queue: Promise<void> = Promise.resolve()
    const reload = (why: string) => {
      queue = queue.then(() =>
        stopped
          ? undefined
          : this.reload().then(
              () => log.info(`tokens re-read from ${this.path} (${why})`),
              (e: unknown) =>
                log.error(
                  `tokens file ${this.path} not re-read, the previous tokens stay in force: ${e instanceof Error ? e.message : String(e)}`,
                ),
            ),
      )
    }
    let settle: NodeJS.Timeout | undefined
    let firstEvent = 0
    const changed = () => {
      if (stopped) return
      const now = Date.now()
      if (!settle) firstEvent = now
      clearTimeout(settle)
      const wait = Math.max(0, Math.min(SETTLE_MS, firstEvent + MAX_WAIT_MS - now))
      settle = setTimeout(() => {
        settle = undefined
        reload('changed')
      }, wait)
      settle.unref()
    }
    const onHup = () => reload('SIGHUP')
    process.on('SIGHUP', onHup)

    const dir = dirname(this.path)
    const name = basename(this.path)
    const isLink = () => {
      try {
        return lstatSync(this.path).isSymbolicLink()
      } catch {
        return false // missing for now: watched by name until it is back
      }
    }
    let watcher: FSWatcher | undefined
    let retry: NodeJS.Timeout | undefined
    let failing = false
    const rearm = (e: unknown) => {
      watcher?.close()
      watcher = undefined
      if (stopped) return
      if (!failing)
        log.error(
          `tokens file ${this.path} not watched (${e instanceof Error ? e.message : String(e)}); retrying every ${RETRY_MS / 1000} s, SIGHUP re-reads it meanwhile`,
        )
      failing = true
      retry = setTimeout(arm, RETRY_MS)
      retry.unref()
    }
    const arm = () => {
      if (stopped) return
      try {
        watcher = fsWatch(dir, { persistent: false }, (_event, file) => {
          if (file == null || file.toString() === name || isLink()) changed()
        })
        watcher.on('error', rearm) // the directory itself went away or was replaced
      } catch (e) {
        rearm(e)
        return
      }
      if (failing) {
        failing = false
        log.info(`tokens file ${this.path} watched again`)
        // Changes made while it was not watched are read now.
        changed()
      }
    }
    arm()
    return () => {
      stopped = true
      process.off('SIGHUP', onHup)
      clearTimeout(settle)
      clearTimeout(retry)
      watcher?.close()
    }
  }
}

/** A watch that failed is set up again after this long. */
const RETRY_MS = 1000
/** A watched tokens file is read once its events have been quiet this long... */
const SETTLE_MS = 100
/** ...or this long after the first of a stream of events that never goes quiet. */
const MAX_WAIT_MS = 1000

/** The tokens of a LABELS_TOKENS_FILE; throws naming the bad entry (never the token). */
export async function readTokenFile(path: string): Promise<ReturnType<typeof parseTokens>> {
  const text = await readFile(path, 'utf8')
  const spec = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .join(',')
  return parseTokens(spec)
}
