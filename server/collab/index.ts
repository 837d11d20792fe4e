/**
 * Collaborative workspace endpoint. Wiring in buildApp:
 *
 *   const store = await createSqlDocStore(collabDb)          // a SqlExecutor (may be its own PGlite)
 *   const registry = new DocRegistry({ store, onDocChange, unloadAfterMs })
 *   // server-side code pins: (await registry.get('main')).doc stays loaded for good;
 *   // connections lease: a document nobody holds is unloaded after unloadAfterMs.
 *   await app.register(collabPlugin, { authenticate: (token) => user | null, registry })
 *
 * onDocChange(workspace, {created, updated, deleted}, origin, doc) runs after an update is
 * stored, whatever its source (operators over WebSocket, REST, server repairs).
 */
export { collabPlugin, type CollabPluginOptions } from './plugin.ts'
export {
  DEFAULT_UNLOAD_AFTER_MS,
  DocRegistry,
  isWorkspaceId,
  type DocLease,
  type DocRegistryOptions,
  type DocRegistryStats,
} from './doc-registry.ts'
export { LiveDoc, type DocChangeHook, type LiveDocOptions } from './live-doc.ts'
export { createSqlDocStore, type DocStore, type StoredDoc } from './doc-store.ts'
export type { CollabUser } from './connection.ts'
