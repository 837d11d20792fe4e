import type { GroupNode } from '../../shared/schemas/group.ts'
import type { Label, LabelInput, LabelPatch } from '../../shared/schemas/label.ts'
import type { ProjectedLabel } from '../../shared/doc/projection.ts'

/** A label as projected from the workspace document (with its `nameConflict` mark). */
export type WorkspaceLabel = ProjectedLabel

/** How a label definition changed, as seen by the engine side (runs, scheduler, data). */
export type LabelChange =
  | { kind: 'created'; label: WorkspaceLabel }
  | { kind: 'updated'; label: WorkspaceLabel; previous: Label }
  | { kind: 'deleted'; previous: Label }

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
  updateLabel(id: string, patch: LabelPatch, actor: string): WorkspaceLabel
  deleteLabel(id: string, actor: string): void
  /** Resolves once every write so far is stored (answer REST writes after it). */
  flushed(): Promise<void>
  /** Subscribes to label definition changes from any origin (REST or collaborative clients). */
  onLabelChange(fn: (change: LabelChange) => void): () => void
}
