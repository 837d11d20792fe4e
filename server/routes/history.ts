import type { FastifyInstance } from 'fastify'
import { HistoryBucketsChange, HistoryBucketsInput, HistoryBucketsState } from '../../shared/schemas/wire.ts'
import { badRequest } from '../../shared/errors.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import { errors } from '../http/wire-schemas.ts'
import { typed } from '../http/typed.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import '../types.ts'

/** Only number and date labels' history is bucketed; 400 otherwise. */
function bucketedType(label: WorkspaceLabel): 'number' | 'date' {
  if (label.dataType === 'number' || label.dataType === 'date') return label.dataType
  throw badRequest(
    `label "${label.name}" is a ${label.dataType} label: its history is per value, only number and date labels have buckets`,
    '/params/label',
  )
}

/** The fixed buckets of a label's history (GET, PUT …/history/buckets). */
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
}
