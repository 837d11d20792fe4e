/**
 * `npm run openapi`: writes docs/openapi.json, the OpenAPI document the server serves at
 * /api/docs, generated from the route schemas by building the app in memory (no listening,
 * throwaway in-memory databases). tests/docs.test.ts fails when the committed file is stale.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { openPglite } from '../engine/adapters/pglite.ts'
import { EngineService } from '../engine/service.ts'
import { buildApp } from '../server/app.ts'

export const OPENAPI_FILE = resolve(import.meta.dirname, '..', 'docs', 'openapi.json')

/** The server's OpenAPI document as the text docs/openapi.json holds (2-space JSON, final newline). */
export async function openApiText(): Promise<string> {
  const db = await openPglite()
  const dataDir = await mkdtemp(join(tmpdir(), 'labels-openapi-'))
  try {
    const engine = new EngineService(db)
    await engine.migrate()
    // Without a document store the workspace is in memory; the routes and schemas are the same
    // (the WebSocket routes, /collab/:workspace and /api/live, are not in the document either way).
    const app = await buildApp({ engine, db: 'pglite', dataDir, tokens: [] })
    try {
      await app.ready()
      return JSON.stringify(app.swagger(), null, 2) + '\n'
    } finally {
      await app.close()
    }
  } finally {
    await db.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await openApiText()
  await writeFile(OPENAPI_FILE, text)
  console.log(`wrote ${OPENAPI_FILE} (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths)`)
}
