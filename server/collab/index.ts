/**
 * Collaborative workspace endpoint. Wiring in buildApp:
 *
 *   const store = await createSqlDocStore(collabDb)          // a SqlExecutor (may be its own PGlite)
 *   const registry = new DocRegistry({ store, onDocChange })  // REST routes: (await registry.get('main')).doc
 *   await app.register(collabPlugin, { authenticate: (token) => user | null, registry })
 *
 * onDocChange(workspace, {created, updated, deleted}, origin, doc) runs after an update is
 * stored, whatever its source (operators over WebSocket, REST, server repairs).
 */
export { collabPlugin, type CollabPluginOptions } from './plugin.ts'
export { DocRegistry, isWorkspaceId } from './doc-registry.ts'
export { LiveDoc, type DocChangeHook, type LiveDocOptions } from './live-doc.ts'
export { createSqlDocStore, type DocStore, type StoredDoc } from './doc-store.ts'
export { type CollabUser } from './connection.ts'
