import { createHash } from 'node:crypto'
import type { Plugin } from 'vite'

const FILE = 'sw.js'

/**
 * Vite plugin (build only): bundles offline/service-worker.ts as /sw.js at the root of the
 * client dist (a service worker's scope is its own folder) and writes into it the list of
 * every other file of the build to precache, and a version derived from that list, so each
 * new build installs a new worker that drops the previous cache.
 */
export function serviceWorkerPlugin(entry: string): Plugin {
  return {
    name: 'labels-service-worker',
    apply: 'build',
    buildStart() {
      this.emitFile({ type: 'chunk', id: entry, fileName: FILE })
    },
    generateBundle(_opts, bundle) {
      const sw = bundle[FILE]
      if (!sw || sw.type !== 'chunk') throw new Error(`service worker chunk ${FILE} missing from the bundle`)
      const files = Object.keys(bundle)
        .filter((f) => f !== FILE && f !== 'index.html' && !f.endsWith('.map'))
        .sort()
        .map((f) => `/${f}`)
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16)
      // The placeholder with its quotes, whichever the minifier chose, becomes a string literal.
      const withList = sw.code.replace(/(['"`])__LABELS_PRECACHE__\1/, () => JSON.stringify(JSON.stringify(files)))
      if (withList === sw.code) throw new Error(`no precache placeholder in ${FILE}`)
      sw.code = withList.replace('__LABELS_BUILD__', version)
    },
  }
}
