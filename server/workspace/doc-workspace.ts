import * as Y from 'yjs'
import * as ops from '../../shared/doc/index.ts'
import { badRequest, notFound } from '../../shared/errors.ts'
import type { GroupNode } from '../../shared/schemas/group.ts'
import type { Label, LabelInput, LabelPatch } from '../../shared/schemas/label.ts'
import { storedWithin, STORE_WAIT_MS } from '../collab/live-doc.ts'
import type { LabelChange, Workspace, WorkspaceLabel } from './workspace.ts'

function findNode(nodes: GroupNode[], id: string): GroupNode | null {
  for (const n of nodes) {
    if (n.id === id) return n
    const c = findNode(n.children, id)
    if (c) return c
  }
  return null
}

/**
 * Workspace over one live Yjs document. Every write is one shared/doc operation with a
 * `rest` origin; `onLabelChange` listeners hear about label changes from every origin
 * (REST, browsers, repairs) after each transaction.
 */
export class DocWorkspace implements Workspace {
  private readonly listeners = new Set<(c: LabelChange) => void>()
  private readonly known = new Map<string, Label>()
  /** The projection of the document as it is now; dropped on every update (any origin). */
  private cached: ops.WorkspaceProjection | null = null
  /** True between a transaction's start and its observer calls (public events, not doc._transaction). */
  private inTransaction = false

  /**
   * `flush` resolves once the document's writes so far are stored. Feed label changes to
   * `applyChanges` (the collab registry's onDocChange does, after each stored update).
   */
  constructor(
    readonly doc: Y.Doc,
    private readonly flush: () => Promise<void> = async () => {},
    /** How long `flushed()` waits before it fails with 503 (the edit stays and is stored later). */
    private readonly flushWaitMs = STORE_WAIT_MS,
  ) {
    // Content only changes inside a transaction: drop the projection as one begins, and don't
    // cache while it runs. Its changes are complete when observers are about to be called, so
    // observers and afterTransaction listeners already get (and cache) the new state.
    doc.on('beforeTransaction', () => {
      this.cached = null
      this.inTransaction = true
    })
    doc.on('beforeObserverCalls', () => {
      this.inTransaction = false
    })
    for (const l of this.projection().labels) this.known.set(l.id, ops.storedLabel(l))
  }

  /** Every read shares one projection until the document changes (reads far outnumber edits). */
  private projection(): ops.WorkspaceProjection {
    if (this.inTransaction) return ops.projectWorkspace(this.doc)
    return (this.cached ??= ops.projectWorkspace(this.doc))
  }

  /** A workspace that tracks its own document's transactions (no collab store: tests, tools). */
  static selfTracking(doc: Y.Doc): DocWorkspace {
    const ws = new DocWorkspace(doc)
    const tracker = ops.makeLabelChangeTracker(doc)
    doc.on('afterTransaction', (tr: Y.Transaction) => ws.applyChanges(tracker.take(tr)))
    return ws
  }

  groupTree(): GroupNode[] {
    return this.projection().groups
  }

  listLabels(): WorkspaceLabel[] {
    return this.projection().labels
  }

  findLabel(idOrName: string): WorkspaceLabel | null {
    return ops.findLabel(this.projection(), idOrName) ?? null
  }

  createGroup(input: { name: string; parentId?: string | null }, actor: string): GroupNode {
    return this.node(ops.createGroup(this.doc, input, ops.origin('rest', actor)).id)
  }

  updateGroup(
    id: string,
    patch: { name?: string; parentId?: string | null; index?: number },
    actor: string,
  ): GroupNode {
    if (!this.projection().groupsById[id]) throw notFound(`no group "${id}"`, '/params/id')
    // One transaction: a refused move never leaves a half-applied rename.
    ops.updateGroup(this.doc, id, patch, ops.origin('rest', actor))
    return this.node(id)
  }

  deleteGroup(id: string, actor: string): void {
    ops.deleteGroup(this.doc, id, ops.origin('rest', actor))
  }

  createLabel(input: LabelInput, actor: string): WorkspaceLabel {
    return this.label(ops.createLabel(this.doc, input, ops.origin('rest', actor)).id)
  }

  updateLabel(id: string, patch: LabelPatch, actor: string, index?: number): WorkspaceLabel {
    const origin = ops.origin('rest', actor)
    if (index === undefined) return this.label(ops.updateLabel(this.doc, id, patch, origin).id)
    // One transaction: the edit and the move are seen together (and a refused one writes nothing).
    let labelId = id
    this.doc.transact(() => {
      const cur = Object.keys(patch).length > 0 ? ops.updateLabel(this.doc, id, patch, origin) : this.findLabel(id)
      if (!cur) throw notFound(`no label "${id}"`, '/params/label')
      labelId = cur.id
      // Past the end: last (moveLabel's placeAt clamps it).
      ops.moveLabel(this.doc, cur.id, { groupId: cur.groupId, index }, origin)
    }, origin)
    return this.label(labelId)
  }

  deleteLabel(id: string, actor: string): void {
    ops.deleteLabel(this.doc, id, ops.origin('rest', actor))
  }

  listDrafts(): ops.DraftView[] {
    return ops.projectDrafts(this.doc).drafts
  }

  findDraft(id: string): ops.DraftView | null {
    const m = ops.draftEntry(this.doc, id)
    return m ? ops.readDraft(id, m) : null
  }

  draftOfLabel(labelId: string): ops.DraftView | null {
    return ops.projectDrafts(this.doc).byLabel[labelId] ?? null
  }

  openDraft(from: ops.OpenDraftFrom, actor: string): { draft: ops.DraftView; created: boolean } {
    const label = from.labelId ? this.findLabel(from.labelId) : null
    const existed = label !== null && ops.draftEntry(this.doc, ops.draftIdFor(label.id)) !== undefined
    return { draft: ops.openDraft(this.doc, from, ops.origin('rest', actor)), created: !existed }
  }

  editDraft(
    id: string,
    change: { fields?: Partial<Label>; base?: Partial<Label>; edits?: ops.DraftEdit[] },
    actor: string,
  ): ops.DraftView {
    const o = ops.origin('rest', actor)
    if (!ops.draftEntry(this.doc, id)) throw notFound(`no draft "${id}"`, '/params/draft')
    // One transaction for both (a nested doc.transact joins the outer one). Path edits go first:
    // they are the part that can be refused (bad path), and they refuse before writing anything.
    let out: ops.DraftView | undefined
    this.doc.transact(() => {
      if (change.edits?.length) out = ops.editDraft(this.doc, id, change.edits, o)
      if (change.fields) out = ops.updateDraft(this.doc, id, change.fields, o, change.base)
    }, o)
    return out ?? (this.findDraft(id) as ops.DraftView)
  }

  discardDraft(id: string, actor: string): void {
    ops.discardDraft(this.doc, id, ops.origin('rest', actor))
  }

  whenSeen(stateVector: Uint8Array, timeoutMs: number): Promise<boolean> {
    let wanted: Map<number, number>
    try {
      wanted = Y.decodeStateVector(stateVector)
    } catch {
      throw badRequest('not a Yjs state vector', '/body/after')
    }
    const seen = () => [...wanted].every(([client, clock]) => Y.getState(this.doc.store, client) >= clock)
    if (seen()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer)
        this.doc.off('update', check)
        resolve(ok)
      }
      const check = () => seen() && done(true)
      const timer = setTimeout(() => done(false), timeoutMs)
      this.doc.on('update', check)
    })
  }

  publishPlan(id: string): ops.PublishPlan {
    return ops.publishPlan(this.doc, id)
  }

  publishDraft(id: string, actor: string): WorkspaceLabel {
    return this.label(ops.publishDraft(this.doc, id, ops.origin('rest', actor)).id)
  }

  /** Resolves once the writes so far are stored; 503 (LabelsError 'unavailable') after flushWaitMs. */
  flushed(): Promise<void> {
    return storedWithin(this.flush(), this.flushWaitMs)
  }

  onLabelChange(fn: (c: LabelChange) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private node(id: string): GroupNode {
    const n = findNode(this.groupTree(), id)
    if (!n) throw notFound(`no group "${id}"`, '/params/id')
    return n
  }

  private label(id: string): WorkspaceLabel {
    const l = this.findLabel(id)
    if (!l) throw notFound(`no label "${id}"`, '/params/label')
    return l
  }

  /** Turns the ids a stored update touched into label changes and tells the listeners. */
  applyChanges(c: ops.LabelChanges, opts: { relayed?: boolean } = {}): void {
    if (ops.noLabelChanges(c)) return
    const p = this.projection()
    const byId = new Map(p.labels.map((l) => [l.id, l]))
    const events: LabelChange[] = []
    for (const id of c.created) {
      const l = byId.get(id)
      if (l) events.push({ kind: 'created', label: l })
    }
    for (const id of c.updated) {
      const l = byId.get(id)
      const previous = this.known.get(id)
      if (l && previous) events.push({ kind: 'updated', label: l, previous })
      else if (l) events.push({ kind: 'created', label: l })
    }
    for (const id of c.deleted) {
      const previous = this.known.get(id)
      if (previous) events.push({ kind: 'deleted', previous })
    }
    for (const e of events) {
      if (e.kind === 'deleted') this.known.delete(e.previous.id)
      else this.known.set(e.label.id, ops.storedLabel(e.label))
    }
    if (opts.relayed) for (const e of events) e.relayed = true
    for (const e of events)
      for (const fn of this.listeners) {
        try {
          fn(e)
        } catch {
          // A listener's failure must not break the document's transaction chain.
        }
      }
  }
}
