import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import * as Y from 'yjs'
import { ensureDefaultGroup, noLabelChanges } from '../../shared/doc/index.ts'
import { collabPlugin, DocRegistry, type DocStore } from '../collab/index.ts'
import type { TokenRegistry } from '../auth/tokens.ts'
import { DocWorkspace } from '../workspace/doc-workspace.ts'
import type { Cluster } from '../cluster/index.ts'
import { attachCollabRelay, collabDocOptions } from '../cluster/collab-relay.ts'
import '../types.ts'

/** The workspace REST routes and the engine hooks use (docs/model.md#workspace: id `main`). */
export const MAIN_WORKSPACE = 'main'

export interface WorkspacePluginOptions {
  /** Where the collaborative document lives; without one, an in-memory document and no /collab endpoint. */
  docStore?: DocStore
  tokens: TokenRegistry
  /** Other workspaces' documents are unloaded after this long without a connection; `main` is pinned. */
  unloadAfterMs?: number | undefined
  /** The longest a stored update waits to be relayed with the next ones (LiveDocOptions.relayHoldMs). */
  relayHoldMs?: number | undefined
  /** Origins besides the server's own whose pages may open the collab socket (LABELS_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[]
  /** Several processes on one PostgreSQL: updates and presence cross them (server/cluster/collab-relay.ts). */
  cluster?: Cluster
}

/**
 * Decorates `app.workspace` over the live `main` document and serves the collab endpoint
 * ws://HOST:PORT/collab/:workspace with the same DocRegistry, so REST writes and browser
 * edits are one document. Label changes from either reach `onLabelChange` listeners after
 * they are stored (the registry's onDocChange hook).
 */
export default fp(
  async function workspacePlugin(app: FastifyInstance, opts: WorkspacePluginOptions) {
    if (!opts.docStore) {
      const doc = new Y.Doc()
      ensureDefaultGroup(doc)
      app.decorate('workspace', DocWorkspace.selfTracking(doc))
      return
    }
    let workspace: DocWorkspace | null = null
    const registry = new DocRegistry({
      store: opts.docStore,
      onDocChange: (ws, changes, origin) => {
        if (ws === MAIN_WORKSPACE) workspace?.applyChanges(changes, { relayed: origin.kind === 'cluster' })
        // REST writes are audited by their routes; browser edits are audited here.
        if (origin.kind === 'remote' && !noLabelChanges(changes))
          app.audit
            .append({ actor: origin.actor, role: null, action: 'collab.labels', target: ws, details: { ...changes } })
            .catch(() => {})
      },
      log: (level, msg, err) => app.log[level]({ err }, msg),
      unloadAfterMs: opts.unloadAfterMs,
      relayHoldMs: opts.relayHoldMs,
      ...(opts.cluster ? { cluster: collabDocOptions(opts.cluster.bus) } : {}),
    })
    const detachRelay = opts.cluster ? attachCollabRelay(opts.cluster.bus, registry) : () => {}
    // get() pins `main`: DocWorkspace, the scheduler and the run queue read it synchronously and
    // keep observers on it, so it stays loaded; only other workspaces' documents are unloaded.
    const live = await registry.get(MAIN_WORKSPACE)
    workspace = new DocWorkspace(live.doc, () => live.flushed())
    app.decorate('workspace', workspace)
    const authenticate = (token: string) => {
      const operator = opts.tokens.authenticate(token)
      // Failed logins on /collab are audited like those on /api (not awaited: the upgrade is refused at once).
      if (!operator)
        void app.audit
          .append({
            actor: null,
            role: null,
            action: 'auth.failed',
            target: '/collab',
            details: { reason: token ? 'bad token' : 'no token' },
          })
          .catch(() => {})
      return operator
    }
    // This server hosts one workspace (docs/model.md#workspace: id `main`): any other room name is refused
    // (4404) rather than created, so no signed-in user can make it store arbitrary documents.
    await app.register(collabPlugin, {
      authenticate,
      registry,
      allowWorkspace: (ws) => ws === MAIN_WORKSPACE,
      allowedOrigins: opts.allowedOrigins ?? [],
      // A withdrawn token's sockets close as soon as the tokens change, idle ones included.
      onUsersChanged: (fn) => opts.tokens.onChange(fn),
    })
    // Flush and snapshot documents last, after runs stopped and sockets closed.
    app.addHook('onClose', async () => {
      detachRelay()
      await registry.close()
    })
  },
  { name: 'workspace', dependencies: ['auth', 'audit'] },
)
