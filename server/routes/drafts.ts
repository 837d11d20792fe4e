import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { jsonEqual, type DraftView, type LabelDefinition, type PublishPlan } from '../../shared/doc/index.ts'
import { conflict, invalid, notFound } from '../../shared/errors.ts'
import { LabelInput, LabelPatch } from '../../shared/schemas/label.ts'
import { check } from '../../shared/schemas/validate.ts'
import { errors, LabelOut } from '../http/wire-schemas.ts'
import { LabelParams, resolveLabel, withRunInfoOf } from './label-helpers.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

const Nullable = <T extends import('typebox').TSchema>(t: T) => Type.Union([t, Type.Null()])

/** A definition as a draft holds it: any field may be unfinished, so it is open. */
const DefinitionOut = Type.Object({
  name: Type.Unknown(),
  displayName: Type.Unknown(),
  groupId: Type.Unknown(),
  dataType: Type.Unknown(),
  labelType: Type.Unknown(),
  schedule: Type.Unknown(),
  enabled: Type.Unknown(),
  description: Type.Unknown(),
  rule: Type.Unknown(),
})

export const DraftOut = Type.Object({
  id: Type.String(),
  labelId: Nullable(Type.String()),
  base: Nullable(DefinitionOut),
  definition: DefinitionOut,
  changed: Type.Array(Type.String(), { description: 'fields that differ from base (every field of a new label)' }),
  createdBy: Type.String(),
  createdAt: Type.String(),
  authors: Type.Record(Type.String(), Type.String(), { description: 'JSON pointer → operator who last wrote it' }),
  editors: Type.Array(Type.String()),
})

const DraftParams = Type.Object({ draft: Type.String({ minLength: 1, maxLength: 128 }) })

const Path = Type.String({ maxLength: 1000, pattern: '^/' })
const DraftEditIn = Type.Union([
  Type.Object({ op: Type.Literal('set'), path: Path, value: Type.Unknown() }, { additionalProperties: false }),
  Type.Object(
    { op: Type.Literal('insert'), path: Path, index: Type.Integer({ minimum: 0 }), value: Type.Unknown() },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Literal('remove'), path: Path, index: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Literal('move'), path: Path, from: Type.Integer({ minimum: 0 }), to: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
])

const OpenBody = Type.Union([
  Type.Object(
    {
      labelId: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 128,
          description: 'the label (id or name) to edit; its open draft is joined',
        }),
      ),
      definition: Type.Optional(LabelPatch),
      groupId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])

const PublishBody = Type.Union([
  Type.Object(
    {
      after: Type.Optional(
        Type.String({
          maxLength: 100_000,
          description:
            "base64 Yjs state vector of the publishing browser's document: the server waits (up to 5 s, else 409) until it holds those edits, so the last keystroke sent over the collab socket is published too",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
])

const PatchBody = Type.Object(
  {
    fields: Type.Optional(LabelPatch),
    base: Type.Optional(LabelPatch),
    edits: Type.Optional(
      Type.Array(DraftEditIn, { maxItems: 500, description: 'JSON-path edits: set, insert/remove/move a list item' }),
    ),
  },
  { additionalProperties: false },
)

function mustDraft(app: FastifyInstance, id: string): DraftView {
  const d = app.workspace.findDraft(id)
  if (!d) throw notFound(`no draft "${id}"`, '/params/draft')
  return d
}

/**
 * The definition a plan would leave the label with, for the engine's catalogue check (null: rule and data type
 * untouched).
 */
function definitionToValidate(
  app: FastifyInstance,
  plan: PublishPlan,
): { dataType: LabelDefinition['dataType']; rule: LabelDefinition['rule'] } | null {
  if (plan.kind === 'create') {
    check(LabelInput, plan.input)
    return { dataType: plan.input.dataType, rule: plan.input.rule }
  }
  check(LabelPatch, plan.patch)
  if (plan.patch.rule === undefined && plan.patch.dataType === undefined) return null
  const label = resolveLabel(app, plan.labelId)
  return { dataType: plan.patch.dataType ?? label.dataType, rule: plan.patch.rule ?? label.rule }
}

/**
 * Shared drafts of label definitions (issue 8). A draft lives in the workspace document, so
 * every operator with it open sees edits live; its edits never run anything. Publishing
 * validates it like POST/PATCH /api/labels and writes the label in one transaction.
 */
export default async function draftRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/drafts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Open drafts of label definitions',
        response: { 200: Type.Object({ drafts: Type.Array(DraftOut) }), ...errors(403) },
      },
    },
    async () => ({ drafts: app.workspace.listDrafts() }),
  )

  app.post(
    '/api/drafts',
    {
      config: { role: 'editor', audit: 'draft.open' },
      schema: {
        summary:
          "Open a draft: of a label ({labelId}; joins the label's open draft, 200), of a new label ({groupId?, definition?}), or a restored definition of a label ({labelId, definition})",
        body: OpenBody,
        response: { 200: DraftOut, 201: DraftOut, ...errors(400, 403, 404, 422) },
      },
    },
    async (req, reply) => {
      const body = req.body ?? {}
      if (
        body.groupId !== undefined &&
        !app.workspace.groupTree().some(function has(g): boolean {
          return g.id === body.groupId || g.children.some(has)
        })
      )
        throw invalid(`group ${body.groupId} does not exist`, '/body/groupId')
      const labelId = body.labelId !== undefined ? resolveLabel(app, body.labelId).id : null
      const { draft, created } = app.workspace.openDraft(
        {
          labelId,
          ...(body.definition ? { definition: body.definition } : {}),
          ...(body.groupId ? { groupId: body.groupId } : {}),
        },
        req.operator!.name,
      )
      await app.workspace.flushed()
      req.auditDetails = { id: draft.id, labelId: draft.labelId, created }
      return reply.status(created ? 201 : 200).send(draft)
    },
  )

  app.get(
    '/api/drafts/:draft',
    {
      config: { role: 'viewer' },
      schema: { summary: 'One draft', params: DraftParams, response: { 200: DraftOut, ...errors(403, 404) } },
    },
    async (req) => mustDraft(app, req.params.draft),
  )

  app.patch(
    '/api/drafts/:draft',
    {
      config: { role: 'editor', audit: 'draft.update' },
      schema: {
        summary:
          "Edit a draft: set fields (the rule is merged with others' edits item by item) and/or apply JSON-path edits; nothing is calculated. With `base` (the same fields as the client read them), only what `fields` changes from `base` is written, so a change another operator made since the read is kept",
        params: DraftParams,
        body: PatchBody,
        response: { 200: DraftOut, ...errors(400, 403, 404) },
      },
    },
    async (req) => {
      const id = req.params.draft
      mustDraft(app, id)
      const body = req.body
      const draft = app.workspace.editDraft(id, body, req.operator!.name)
      await app.workspace.flushed()
      req.auditDetails = {
        id,
        fields: Object.keys(body.fields ?? {}),
        edits: body.edits?.length ?? 0,
        ...(body.base ? { base: true } : {}),
      }
      return draft
    },
  )

  app.post(
    '/api/drafts/:draft/publish',
    {
      config: { role: 'editor', audit: 'draft.publish' },
      schema: {
        summary:
          "Publish a draft: validate it (errors name the field's JSON path) and create/update the label in one transaction; the draft is deleted. An edited rule or data type recalculates",
        params: DraftParams,
        body: PublishBody,
        response: { 200: LabelOut, 201: LabelOut, ...errors(400, 403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const id = req.params.draft
      const after = req.body?.after
      if (after !== undefined && !(await app.workspace.whenSeen(new Uint8Array(Buffer.from(after, 'base64')), 5000)))
        throw conflict('your latest draft edits have not reached the server yet; publish again', '/body/after')
      mustDraft(app, id)
      // The engine check is asynchronous and operators keep typing: publish only the
      // definition that was checked (re-check when the draft changed meanwhile).
      for (let attempt = 0; ; attempt++) {
        const plan = app.workspace.publishPlan(id)
        const def = definitionToValidate(app, plan)
        if (def) await app.engine.validateDefinition(def)
        if (!jsonEqual(app.workspace.publishPlan(id), plan)) {
          if (attempt < 5) continue
          throw conflict('the draft keeps changing; publish again', '/params/draft')
        }
        const label = app.workspace.publishDraft(id, req.operator!.name)
        await app.workspace.flushed()
        req.auditDetails = {
          id,
          labelId: label.id,
          name: label.name,
          kind: plan.kind,
          fields: plan.kind === 'update' ? Object.keys(plan.patch) : Object.keys(plan.input),
        }
        const view = await withRunInfoOf(app, label)
        return reply.status(plan.kind === 'create' ? 201 : 200).send(view)
      }
    },
  )

  app.delete(
    '/api/drafts/:draft',
    {
      config: { role: 'editor', audit: 'draft.discard' },
      schema: {
        summary: 'Discard a draft (the label is untouched)',
        params: DraftParams,
        response: { 204: Type.Null(), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      const id = req.params.draft
      const d = mustDraft(app, id)
      app.workspace.discardDraft(id, req.operator!.name)
      await app.workspace.flushed()
      req.auditDetails = { id, labelId: d.labelId }
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/api/labels/:label/draft',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A label's open draft (404 when none)",
        params: LabelParams,
        response: { 200: DraftOut, ...errors(403, 404) },
      },
    },
    async (req) => {
      const label = resolveLabel(app, req.params.label)
      const d = app.workspace.draftOfLabel(label.id)
      if (!d) throw notFound(`label "${label.name}" has no open draft`, '/params/label')
      return d
    },
  )
}
