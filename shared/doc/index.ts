/**
 * The collaborative workspace document: shape, operations, projection, repair.
 *
 * Every write goes through one operation below, each ONE `doc.transact` with a typed origin
 * (`{kind:'local'|'remote'|'rest'|'server'|'repair'|'load', actor}`), so hooks can tell an
 * operator's edit from a REST write or a server repair. Operations validate against the
 * projection (what operators see) and throw LabelsError: 400 bad_request (schema, with path),
 * 404 not_found (the group/label acted on), 409 conflict (duplicate label name, a broken group
 * rule: docs/model.md#group-rules), 422 invalid (schedule vs label type, a referenced group that doesn't exist).
 *
 *   createGroup(doc, {name, parentId?}, origin, {id?, now?})          → GroupView
 *   renameGroup(doc, id, name, origin)                                 → GroupView
 *   moveGroup(doc, id, {parentId?, index?}, origin)                    → GroupView
 *   updateGroup(doc, id, {name?, parentId?, index?}, origin)           → GroupView (PATCH, one transaction)
 *   deleteGroup(doc, id, origin)                → {deletedGroupIds, movedLabelIds}
 *   createLabel(doc, LabelInput, origin, {id?, now?})                  → Label
 *   updateLabel(doc, idOrName, LabelPatch, origin, {now?})             → Label
 *   moveLabel(doc, idOrName, {groupId, index?}, origin)                → Label
 *   deleteLabel(doc, idOrName, origin)                                 → Label (as it was)
 *   openDraft(doc, {labelId?, definition?, groupId?, rule?}, origin)   → DraftView (joins a label's open draft)
 *   updateDraft(doc, draftId, Partial<LabelDefinition>, origin, base?) → DraftView (smallest writes; only what changed from base)
 *   setDraftField(doc, draftId, field, value, origin)                  → DraftView
 *   editDraft(doc, draftId, [{op:'set'|'insert'|'remove'|'move', path…}], origin) → DraftView
 *   discardDraft(doc, draftId, origin)
 *   publishDraft(doc, draftId, origin)                                 → Label (one transaction)
 *
 * Reading: `projectWorkspace(doc)` → {groups: GroupNode[] tree, groupsById, labels (each in
 * exactly one existing group, `nameConflict` on all but the oldest holder of a name),
 * duplicates, repairs}. Pure and deterministic: every replica with the same state shows the
 * same workspace. `findLabel(projection, idOrName)` resolves `:label`. `projectDrafts(doc)` and
 * `draftDefinition(doc, draftId)` read drafts (shared/doc/README.md "Drafts").
 *
 * Server only: `ensureDefaultGroup(doc)` at load, `repairWorkspace(doc)` after remote updates,
 * `makeLabelChangeTracker(doc)` to tell the engine which labels were created/updated/deleted.
 *
 * Example (a REST route):
 *   const live = await registry.get('main')
 *   const label = createLabel(live.doc, body, { kind: 'rest', actor: user.name })
 *   await live.flushed()   // stored before we answer 201
 */
export * from './origin.ts'
export * from './shape.ts'
export * from './fractional-index.ts'
export * from './projection.ts'
export * from './default-group.ts'
export * from './repair.ts'
export * from './group-operations.ts'
export * from './label-operations.ts'
export * from './label-changes.ts'
export * from './rule-y.ts'
export * from './drafts.ts'
export * from './draft-operations.ts'
export * from './draft-recovery.ts'
export * from './awareness.ts'
export * from './close-codes.ts'
