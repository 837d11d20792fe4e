import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { Backfill, HistoryBucketsChange, HistoryBucketsInput, HistoryBucketsState } from '../../shared/schemas/wire.ts'
import { badRequest, notFound } from '../../shared/errors.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import { errors } from '../http/wire-schemas.ts'
import { typed } from '../http/typed.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import '../types.ts'

const BackfillParams = Type.Object({ backfillId: Type.String({ minLength: 1, maxLength: 64 }) })

/** Only number and date labels' history is bucketed; 400 otherwise. */
function bucketedType(label: WorkspaceLabel): 'number' | 'date' {
  if (label.dataType === 'number' || label.dataType === 'date') return label.dataType
  throw badRequest(
    `label "${label.name}" is a ${label.dataType} label: its history is per value, only number and date labels have buckets`,
    '/params/label',
  )
}

/** The fixed buckets of a label's history (GET, PUT …/history/buckets) and backfills of its past days. */
export default async function historyRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/labels/:label/history/buckets',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "The fixed buckets of a number or date label's history, and the stored days in other buckets",
        params: LabelParams,
        response: { 200: HistoryBucketsState, ...errors(400, 403, 404) },
      },
    },
    async (req) => {
      const label = resolveLabel(app, req.params.label)
      return app.engine.historyBuckets(label.id, bucketedType(label))
    },
  )

  app.put(
    '/api/labels/:label/history/buckets',
    {
      config: { role: 'editor' },
      schema: {
        summary: 'Sets the buckets of a label’s history and re-counts the stored days where the data allows',
        params: LabelParams,
        body: HistoryBucketsInput,
        response: { 200: HistoryBucketsChange, ...errors(400, 403, 404) },
      },
    },
    async (req) => {
      const label = resolveLabel(app, req.params.label)
      const dataType = bucketedType(label)
      // Never beside a run of the label: its snapshot would count in the buckets it read.
      const change = await app.runQueue.exclusive(label.id, () =>
        app.engine.setHistoryBuckets(label.id, dataType, req.body),
      )
      await app.calc.historyChanged(label.id)
      return change
    },
  )

  app.post(
    '/api/labels/:label/backfill',
    {
      config: { role: 'editor' },
      schema: {
        summary:
          'Calculates the label’s history for each of the last N days (as of the end of each); writes only history',
        params: LabelParams,
        body: Type.Object(
          { days: Type.Number({ description: 'past days, a whole number from 1 to 90' }) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ backfillId: Type.String(), backfill: Backfill }),
          ...errors(400, 403, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const backfill = await app.backfills.start(label, req.body.days)
      return reply.code(202).send({ backfillId: backfill.id, backfill })
    },
  )

  app.get(
    '/api/labels/:label/backfills',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The label’s recent backfills (the last 20), newest first',
        params: LabelParams,
        response: { 200: Type.Object({ backfills: Type.Array(Backfill) }), ...errors(403, 404) },
      },
    },
    async (req) => ({ backfills: await app.backfills.list(resolveLabel(app, req.params.label).id) }),
  )

  app.get(
    '/api/backfills/:backfillId',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One backfill and its progress',
        params: BackfillParams,
        response: { 200: Backfill, ...errors(403, 404) },
      },
    },
    async (req) => {
      const b = await app.backfills.get(req.params.backfillId)
      if (!b) throw notFound(`no backfill "${req.params.backfillId}"`, '/params/backfillId')
      return b
    },
  )

  app.delete(
    '/api/backfills/:backfillId',
    {
      config: { role: 'editor', audit: 'backfill.cancel' },
      schema: {
        summary: 'Cancels a queued or running backfill: the day being written is rolled back, the days written stay',
        params: BackfillParams,
        response: { 200: Backfill, ...errors(403, 404, 409) },
      },
    },
    async (req) => app.backfills.cancel(req.params.backfillId),
  )
}
