/**
 * Writes the in-browser preview's template database to the path given: PGlite's data directory
 * (gzipped tarball) after initdb and the engine's migrations, with no data. The client build
 * ships it (client/preview/template-plugin.ts), so the preview worker starts a new database
 * from it (PGlite `loadDataDir`) instead of running initdb in the browser.
 *
 *   node --import tsx scripts/preview-template.ts out.tgz
 */
import { writeFile } from 'node:fs/promises'
import { openPglite } from '../engine/adapters/pglite.ts'
import { EngineService } from '../engine/service.ts'

const out = process.argv[2]
if (!out) throw new Error('usage: scripts/preview-template.ts <out.tgz>')
const db = await openPglite()
try {
  await new EngineService(db).migrate()
  await db.exec('CHECKPOINT')
  await writeFile(out, new Uint8Array(await (await db.dumpDataDir()).arrayBuffer()))
} finally {
  await db.close()
}
