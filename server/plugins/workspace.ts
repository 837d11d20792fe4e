import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import * as Y from 'yjs'
import { ensureDefaultGroup } from '../../shared/doc/index.ts'
import { DocWorkspace } from '../workspace/doc-workspace.ts'
import type { Workspace } from '../workspace/workspace.ts'
import '../types.ts'

/** Decorates `app.workspace`; without one given, an in-memory document (tests, no collab). */
export default fp(
  async function workspacePlugin(app: FastifyInstance, opts: { workspace?: Workspace }) {
    let ws = opts.workspace
    if (!ws) {
      const doc = new Y.Doc()
      ensureDefaultGroup(doc)
      ws = new DocWorkspace(doc)
    }
    app.decorate('workspace', ws)
  },
  { name: 'workspace' },
)
