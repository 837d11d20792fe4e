import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { invalid } from '../../shared/errors.ts'
import { LabelInput, LabelPatch } from '../../shared/schemas/label.ts'
import { errors, LabelOut, RunOut } from '../http/wire-schemas.ts'
import { LabelParams, parseAsOf, resolveLabel, withRunInfo, withRunInfoOf } from './label-helpers.ts'
import '../types.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import { typed } from '../http/typed.ts'

const CalcBody = Type.Union([
  Type.Object({ asOf: Type.Optional(Type.String({ maxLength: 40 })) }, { additionalProperties: false }),
  Type.Null(),
])

/**
 * PATCH's body: label fields (LabelPatch), plus the read-only fields a label is read with, so that
 * a label read with GET can be sent back edited. Those are ignored, but an `id` must be the
 * label's own: an edit is never applied to one label and answered with another.
 */
const LabelPatchBody = Type.Object(
  {
    ...LabelPatch.properties,
    index: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "the label's place among its group's labels (after a groupId change: in the new group), 0 first; past the end: last",
      }),
    ),
    id: Type.Optional(Type.String({ maxLength: 64 })),
    createdAt: Type.Optional(Type.Unknown()),
    updatedAt: Type.Optional(Type.Unknown()),
    nameConflict: Type.Optional(Type.Unknown()),
    lastRun: Type.Optional(Type.Unknown()),
    nextRunAt: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
)

/** Label CRUD, calculate and run listing. Writes go through the shared workspace document. */
export default async function labelRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/labels',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Labels (filter by name/display name substring and group), with their last run',
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200 })),
          groupId: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: Type.Object({ labels: Type.Array(LabelOut) }), ...errors(403) },
      },
    },
    async (req) => {
      const { q, groupId } = req.query
      const needle = q?.trim().toLowerCase()
      const labels = app.workspace
        .listLabels()
        .filter((l) => !groupId || l.groupId === groupId)
        .filter((l) => !needle || l.name.toLowerCase().includes(needle) || l.displayName.toLowerCase().includes(needle))
      return { labels: await withRunInfo(app, labels) }
    },
  )

  app.post(
    '/api/labels',
    {
      config: { role: 'editor', audit: 'label.create' },
      schema: {
        summary: 'Create a label; it is calculated once right away',
        body: LabelInput,
        response: { 201: LabelOut, ...errors(400, 403, 409, 422) },
      },
    },
    async (req, reply) => {
      const input = req.body
      await app.engine.validateDefinition({ dataType: input.dataType, rule: input.rule })
      const label = app.workspace.createLabel(input, req.operator!.name)
      await app.workspace.flushed()
      req.auditDetails = { id: label.id, name: label.name }
      const view = await withRunInfoOf(app, label)
      return reply.status(201).send(view)
    },
  )

  app.get(
    '/api/labels/:label',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One label (id or name) with its last run',
        params: LabelParams,
        response: { 200: LabelOut, ...errors(403, 404) },
      },
    },
    async (req) => {
      const label = resolveLabel(app, req.params.label)
      return withRunInfoOf(app, label)
    },
  )

  app.patch(
    '/api/labels/:label',
    {
      config: { role: 'editor', audit: 'label.update' },
      schema: {
        summary: 'Edit any label field (read-only fields of a label as read are ignored; an id must be its own)',
        params: LabelParams,
        body: LabelPatchBody,
        response: { 200: LabelOut, ...errors(400, 403, 404, 409, 422) },
      },
    },
    async (req) => {
      const label = resolveLabel(app, req.params.label)
      const {
        id,
        index,
        createdAt: _c,
        updatedAt: _u,
        nameConflict: _n,
        lastRun: _l,
        nextRunAt: _r,
        ...patch
      } = req.body
      if (id !== undefined && id !== label.id)
        throw invalid(`is ${label.id} for this label; a label's id can't be changed`, '/body/id')
      if (patch.rule !== undefined || patch.dataType !== undefined)
        await app.engine.validateDefinition({
          dataType: patch.dataType ?? label.dataType,
          rule: patch.rule ?? label.rule,
        })
      const updated = app.workspace.updateLabel(label.id, patch, req.operator!.name, index)
      await app.workspace.flushed()
      req.auditDetails = { fields: [...Object.keys(patch), ...(index === undefined ? [] : ['index'])] }
      return withRunInfoOf(app, updated)
    },
  )

  app.delete(
    '/api/labels/:label',
    {
      config: { role: 'editor', audit: 'label.delete' },
      schema: {
        summary: 'Delete a label with its results and history',
        params: LabelParams,
        response: { 204: Type.Null(), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      app.workspace.deleteLabel(label.id, req.operator!.name)
      await app.workspace.flushed()
      await app.engine.deleteLabelData(label.id)
      req.auditDetails = { id: label.id, name: label.name }
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/api/labels/:label/calculate',
    {
      config: { role: 'editor', audit: 'label.calculate' },
      schema: {
        summary: 'Queue a calculation',
        params: LabelParams,
        body: CalcBody,
        response: { 202: Type.Object({ runId: Type.String() }), ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const asOf = parseAsOf(req.body?.asOf, '/body/asOf', app.tz)
      const runId = await app.calc.trigger(label, 'manual', asOf)
      req.auditDetails = { runId }
      return reply.status(202).send({ runId })
    },
  )

  app.get(
    '/api/labels/:label/runs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A label's runs, newest first",
        params: LabelParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
        response: { 200: Type.Object({ runs: Type.Array(RunOut) }), ...errors(403, 404, 503) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const limit = req.query.limit ?? 50
      // Once listed, a label's runs are kept in memory and follow every run status change, so the
      // list never waits behind a calculation (on PGlite it holds the only connection).
      const known = app.calc.listedRuns(label.id, limit)
      if (known) return { runs: known }
      const stored = await boundedRead(() => app.engine.listRuns(label.id, limit), {
        waitMs: app.calc.readWaitMs,
        reply,
        what: "the label's runs are read from the database",
      })
      // A run's row says succeeded once its transaction commits, a moment before the server
      // has taken its results into memory; the status the server announced is the one that
      // agrees with the distribution and history reads, so it wins where the server has one.
      return { runs: app.calc.keepRunList(label.id, limit, stored) }
    },
  )
}
