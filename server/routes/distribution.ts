import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import type { Distribution, DistributionQuery, HistoryQuery, HistoryResult } from '../../engine/api.ts'
import { typedHistory } from '../../shared/history-values.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import { csvLine, sendCsv, UTF8_BOM } from '../http/csv.ts'
import { queryValue } from '../http/request-path.ts'
import { DistributionOut, errors, HistoryOut } from '../http/wire-schemas.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import { listParam, parseBoundaries, parseDay } from './query-lists.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')]))
const Repeatable = Type.Optional(
  Type.Union([Type.String({ maxLength: 2000 }), Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 200 })]),
)

export const DistributionQueryIn = Type.Object({
  top: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  sort: Type.Optional(Type.Union([Type.Literal('users'), Type.Literal('value')])),
  order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')])),
  bins: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  boundaries: Repeatable,
  granularity: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')])),
  format: Format,
})

type RawDistQuery = Omit<Static<typeof DistributionQueryIn>, 'format'>

/** Query string → engine DistributionQuery (undefined fields left out). */
export function toDistributionQuery(q: RawDistQuery): DistributionQuery {
  const out: DistributionQuery = {}
  if (q.top !== undefined) out.top = q.top
  if (q.sort) out.sort = q.sort
  if (q.order) out.order = q.order
  if (q.bins !== undefined) out.bins = q.bins
  const b = parseBoundaries(q.boundaries)
  if (b) out.boundaries = b
  if (q.granularity) out.granularity = q.granularity
  return out
}

const empty = (labelId: string): Distribution => ({
  labelId,
  runId: null,
  asOf: null as unknown as string,
  totalUsers: 0,
  coveredUsers: 0,
  items: [],
})

/**
 * A label's distribution: from the in-memory read model (never waits for a calculation), else
 * (a query only the database answers) from the engine, bounded on PGlite (503 + Retry-After).
 */
async function readDistribution(
  app: FastifyInstance,
  label: { id: string; dataType: DataType },
  query: DistributionQuery,
  reply: FastifyReply,
): Promise<Distribution> {
  const reads = app.calc.reads
  const waitMs = app.calc.readWaitMs
  const pending = reads.pending(label.id)
  if (pending) await boundedRead(() => pending, { waitMs, reply, what: 'the results are being refreshed' })
  const mem = reads.distribution(label.id, query)
  if (mem !== undefined) return mem ?? empty(label.id)
  const key = JSON.stringify(query)
  const cache = app.calc.distributions
  let d = cache.get(label.id, key)
  if (!d) {
    const gen = cache.generation(label.id)
    d =
      (await boundedRead(() => app.engine.distribution(label.id, label.dataType, query), {
        waitMs,
        reply,
        what: 'this distribution query reads the database',
      })) ?? empty(label.id)
    if (d.runId) cache.set(label.id, key, d, gen)
  }
  return d
}

/** A label's history: from memory, else from the engine (bounded on PGlite). */
async function readHistory(
  app: FastifyInstance,
  labelId: string,
  query: HistoryQuery,
  reply: FastifyReply,
): Promise<HistoryResult> {
  const reads = app.calc.reads
  const waitMs = app.calc.readWaitMs
  const pending = reads.pending(labelId)
  if (pending) await boundedRead(() => pending, { waitMs, reply, what: 'the results are being refreshed' })
  return (
    reads.history(labelId, query) ??
    (await boundedRead(() => app.engine.history(labelId, query), {
      waitMs,
      reply,
      what: 'this history reads the database',
    }))
  )
}

const exportAudit = (what: string) => (req: FastifyRequest) =>
  queryValue(req, 'format') === 'csv' ? `export.${what}` : null

/** Distribution and history of a label, as JSON or CSV export. */
export default async function distributionRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/labels/:label/distribution',
    {
      config: { role: 'viewer', audit: exportAudit('distribution') },
      schema: {
        summary: 'Value distribution from the latest successful run (format=csv exports)',
        params: LabelParams,
        querystring: DistributionQueryIn,
        response: { 200: DistributionOut, ...errors(400, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const q = req.query
      const query = toDistributionQuery(q)
      const d = await readDistribution(app, label, query, reply)
      if (q.format !== 'csv') return d
      let csv = UTF8_BOM + csvLine(['value', 'from', 'to', 'users', 'proportion'])
      for (const i of d.items) csv += csvLine([i.value, i.from, i.to, i.users, i.proportion])
      return sendCsv(reply, `${label.name}-distribution.csv`, csv)
    },
  )

  app.get(
    '/api/labels/:label/history',
    {
      config: { role: 'viewer', audit: exportAudit('history') },
      schema: {
        summary: 'Daily distribution snapshots (format=csv exports)',
        params: LabelParams,
        querystring: Type.Object({
          from: Type.Optional(Type.String({ maxLength: 10 })),
          to: Type.Optional(Type.String({ maxLength: 10 })),
          value: Repeatable,
          format: Format,
        }),
        response: { 200: HistoryOut, ...errors(400, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const q = req.query
      const values = listParam(q.value, false)
      const from = parseDay(q.from, '/query/from')
      const to = parseDay(q.to, '/query/to')
      const h = await readHistory(
        app,
        label.id,
        { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(values ? { values } : {}) },
        reply,
      )
      if (q.format !== 'csv') return typedHistory(h, label.dataType)
      let csv = UTF8_BOM + csvLine(['date', 'value', 'users', 'proportion'])
      for (const i of h.items) csv += csvLine([i.date, i.value, i.users, i.proportion])
      return sendCsv(reply, `${label.name}-history.csv`, csv)
    },
  )
}
