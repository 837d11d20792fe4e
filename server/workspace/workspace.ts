import type { GroupNode } from '../../shared/schemas/group.ts'
import type { Label, LabelInput, LabelPatch } from '../../shared/schemas/label.ts'
import type { ProjectedLabel } from '../../shared/doc/projection.ts'
import type { DraftEdit, DraftView, LabelDefinition, OpenDraftFrom, PublishPlan } from '../../shared/doc/index.ts'

/** A label as projected from the workspace document (with its `nameConflict` mark). */
export type WorkspaceLabel = ProjectedLabel

/** How a label definition changed, as seen by the engine side (runs, scheduler, data). */
export type LabelChange = (
  | { kind: 'created'; label: WorkspaceLabel }
  | { kind: 'updated'; label: WorkspaceLabel; previous: Label }
  | { kind: 'deleted'; previous: Label }
) & {
  /**
   * Another server process integrated and stored this change (several processes on one database,
   * server/cluster): it runs and deletes data for it; here only memory follows.
   */
  relayed?: boolean
}

/**
 * The workspace as the REST routes and the engine hooks see it, over the shared Yjs document
 * (doc-workspace.ts): REST writes are ordinary document operations that every connected
 * browser receives live, and changes from browsers reach the engine through the same hook.
 */
export interface Workspace {
  groupTree(): GroupNode[]
  listLabels(): WorkspaceLabel[]
  /** By id, else by name; null when neither matches. */
  findLabel(idOrName: string): WorkspaceLabel | null
  createGroup(input: { name: string; parentId?: string | null }, actor: string): GroupNode
  updateGroup(id: string, patch: { name?: string; parentId?: string | null; index?: number }, actor: string): GroupNode
  deleteGroup(id: string, actor: string): void
  createLabel(input: LabelInput, actor: string): WorkspaceLabel
  /** `index`: the label's place among its group's labels after the edit (0 first; past the end: last). */
  updateLabel(id: string, patch: LabelPatch, actor: string, index?: number): WorkspaceLabel
  deleteLabel(id: string, actor: string): void
  /** Shared drafts of label definitions (shared/doc/drafts.ts), sorted by id. */
  listDrafts(): DraftView[]
  findDraft(id: string): DraftView | null
  /** The open draft of a label (by label id), or null. */
  draftOfLabel(labelId: string): DraftView | null
  /** Opens (or joins) a draft; `created` is false when an open draft was joined unchanged. */
  openDraft(from: OpenDraftFrom, actor: string): { draft: DraftView; created: boolean }
  /** Path edits, then field values, in one transaction (a refused edit writes nothing). */
  editDraft(id: string, change: { fields?: Partial<LabelDefinition>; edits?: DraftEdit[] }, actor: string): DraftView
  discardDraft(id: string, actor: string): void
  /** What publishing would write now (to validate it against the engine first). */
  publishPlan(id: string): PublishPlan
  /**
   * Resolves true once the document holds everything a client's state vector names (its edits
   * reached the server over the collab socket), false after `timeoutMs`.
   */
  whenSeen(stateVector: Uint8Array, timeoutMs: number): Promise<boolean>
  /** Validates and publishes in one transaction (label written, draft deleted). */
  publishDraft(id: string, actor: string): WorkspaceLabel
  /** Resolves once every write so far is stored (answer REST writes after it). */
  flushed(): Promise<void>
  /** Subscribes to label definition changes from any origin (REST or collaborative clients). */
  onLabelChange(fn: (change: LabelChange) => void): () => void
}
