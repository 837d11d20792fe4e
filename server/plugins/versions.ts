import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type * as Y from 'yjs'
import type { RecordVersionInput, VersionKind } from '../../engine/api.ts'
import { isDocOrigin, makeLabelChangeTracker } from '../../shared/doc/index.ts'
import { definitionOf, type LabelDefinition } from '../../shared/rule-diff.ts'
import type { GroupNode } from '../../shared/schemas/group.ts'
import { DocWorkspace } from '../workspace/doc-workspace.ts'
import '../types.ts'

/** What the version routes need of the recorder. */
export interface VersionRecorder {
  /** Resolves once every label change heard so far is recorded (read-your-writes for the routes). */
  settled(): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    versions: VersionRecorder
  }
}

function groupNames(
  nodes: GroupNode[],
  into: Record<string, string> = Object.create(null) as Record<string, string>,
): Record<string, string> {
  for (const n of nodes) {
    into[n.id] = n.name
    groupNames(n.children, into)
  }
  return into
}

/**
 * Version history: every transaction of the workspace document that changes a label's
 * definition, whatever its origin (REST write, a draft's publish, a browser's direct edit), is
 * recorded through EngineApi.recordVersion with the transaction's actor, and audited.
 *
 * It observes the document's transactions itself rather than `onLabelChange`: that hook runs
 * once the update is stored, with the projection of that moment and no origin (a batch of
 * updates is reported against the newest state), while a transaction carries its DocOrigin —
 * `{kind:'rest', actor}` for REST, `{kind:'remote', actor}` with the connection's operator for a
 * browser — and the label exactly as that one write left it. Records are written one at a time,
 * in transaction order; the routes wait for them (`settled`) so a PATCH is visible right after.
 */
export default fp(
  async function versionsPlugin(app: FastifyInstance) {
    let chain: Promise<void> = Promise.resolve()
    const enqueue = (input: RecordVersionInput) => {
      chain = chain.then(async () => {
        try {
          const v = await app.engine.recordVersion(input)
          if (v) {
            await app.audit
              .append({
                actor: v.actor,
                role: null,
                action: 'label.version',
                target: v.labelId,
                details: {
                  n: v.n,
                  kind: v.kind,
                  via: v.via,
                  ...(v.restoredFrom ? { restoredFrom: v.restoredFrom } : {}),
                },
              })
              .catch((e: unknown) => app.log.error({ err: e }, 'audit append failed'))
          }
        } catch (e) {
          app.log.error({ err: e, labelId: input.labelId }, 'recording a label version failed')
        }
      })
    }
    app.decorate('versions', { settled: () => chain } satisfies VersionRecorder)

    const ws = app.workspace
    if (!(ws instanceof DocWorkspace)) {
      app.log.warn('label versions: the workspace is not a Yjs document; no history is recorded')
      return
    }
    const doc: Y.Doc = ws.doc
    const known = new Map<string, { def: LabelDefinition; at: string }>()
    for (const l of ws.listLabels()) known.set(l.id, { def: definitionOf(l), at: l.updatedAt })
    const tracker = makeLabelChangeTracker(doc)

    const onTransaction = (tr: Y.Transaction) => {
      const c = tracker.take(tr)
      if (c.created.length + c.updated.length + c.deleted.length === 0) return
      const o = isDocOrigin(tr.origin) ? tr.origin : null
      // Another process integrated it and records its version (server/cluster); only follow it here.
      if (o?.kind === 'cluster') {
        for (const id of [...c.created, ...c.updated]) {
          const label = ws.findLabel(id)
          if (label && label.id === id) known.set(id, { def: definitionOf(label), at: new Date().toISOString() })
        }
        for (const id of c.deleted) known.delete(id)
        return
      }
      const actor = o && o.actor ? o.actor : 'unknown'
      const via = o?.kind ?? 'unknown'
      const at = new Date().toISOString()
      const names = groupNames(ws.groupTree())
      const change = (id: string, kind: VersionKind) => {
        const label = ws.findLabel(id)
        if (!label || label.id !== id) return
        const def = definitionOf(label)
        const before = known.get(id)
        known.set(id, { def, at })
        enqueue({
          labelId: id,
          at,
          actor,
          via,
          kind,
          definition: def,
          groupNames: names,
          ...(before ? { previous: before.def, previousAt: before.at } : {}),
        })
      }
      for (const id of c.created) change(id, 'created')
      for (const id of c.updated) change(id, known.has(id) ? 'updated' : 'created')
      for (const id of c.deleted) {
        const before = known.get(id)
        known.delete(id)
        if (before) enqueue({ labelId: id, at, actor, via, kind: 'deleted', definition: before.def })
      }
    }
    doc.on('afterTransaction', onTransaction)

    // Labels older than the history (created before this version of the server) start with
    // their current definition as a baseline version, so every label has a history to show.
    app.addHook('onReady', async () => {
      const labels = ws.listLabels()
      chain = chain
        .then(async () => {
          const have = new Set(await app.engine.labelsWithVersions(labels.map((l) => l.id)))
          const names = groupNames(ws.groupTree())
          for (const l of labels) {
            if (have.has(l.id)) continue
            await app.engine
              .recordVersion({
                labelId: l.id,
                at: l.updatedAt,
                actor: 'unknown',
                via: 'baseline',
                kind: 'baseline',
                definition: definitionOf(l),
                groupNames: names,
              })
              .catch((e: unknown) => app.log.error({ err: e, labelId: l.id }, 'recording a baseline version failed'))
          }
        })
        .catch((e: unknown) => app.log.error({ err: e }, 'baseline versions failed'))
    })
    app.addHook('onClose', async () => {
      doc.off('afterTransaction', onTransaction)
      await chain
    })
  },
  { name: 'versions', dependencies: ['engine', 'audit', 'workspace'] },
)
