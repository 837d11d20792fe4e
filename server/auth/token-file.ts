import { readFile, watch } from 'node:fs/promises'
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
   * Re-reads on SIGHUP and when the file changes (editors replace files: the watch restarts).
   * Returns the stop function.
   */
  watch(log: { info(msg: string): void; error(msg: string): void }): () => void {
    const reload = (why: string) =>
      this.reload().then(
        () => log.info(`tokens re-read from ${this.path} (${why})`),
        (e: unknown) =>
          log.error(
            `tokens file ${this.path} not re-read, the previous tokens stay in force: ${e instanceof Error ? e.message : String(e)}`,
          ),
      )
    const onHup = () => void reload('SIGHUP')
    process.on('SIGHUP', onHup)
    const ac = new AbortController()
    const loop = async () => {
      while (!ac.signal.aborted) {
        try {
          for await (const ev of watch(this.path, { signal: ac.signal })) {
            await reload('changed')
            if (ev.eventType === 'rename') break // replaced (editors, mv): watch the new file
          }
        } catch (e) {
          if ((e as { name?: string }).name === 'AbortError') return
          await new Promise((r) => setTimeout(r, 1000).unref()) // replaced or briefly missing: watch again
        }
      }
    }
    void loop()
    return () => {
      process.off('SIGHUP', onHup)
      ac.abort()
    }
  }
}

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
