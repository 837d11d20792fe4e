import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { LabelsError } from '../../shared/errors.ts'
import {
  abandonBody,
  checkContentLength,
  requireBodyStream,
  takeAnyBodyAsStream,
  textChunks,
  uploadFormat,
} from '../http/body.ts'
import { errors, IngestReportOut, SchemaOut } from '../http/wire-schemas.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

/** GET /api/data/schema and the streamed ingestion endpoints (admin). */
export default async function dataRoutes(fastify: FastifyInstance) {
  takeAnyBodyAsStream(fastify)
  const app = typed(fastify)
  app.get(
    '/api/data/schema',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The data schema (user attributes, events, properties)',
        response: { 200: SchemaOut, ...errors(403) },
      },
    },
    async () => app.engine.schema(),
  )

  const parseInWorkerFrom = 1 << 20
  for (const kind of ['users', 'events'] as const) {
    app.post(
      `/api/data/${kind}`,
      {
        config: { role: 'admin', audit: `data.ingest.${kind}` },
        schema: {
          summary:
            kind === 'users'
              ? 'Upsert users by user_id (NDJSON or CSV body)'
              : 'Append events, deduplicated by event_id (NDJSON or CSV body)',
          consumes: ['application/x-ndjson', 'text/csv'],
          description:
            'Any content type is taken: one naming NDJSON (ndjson, jsonl, json-seq) or CSV decides the format; otherwise a body whose first character is `{` is NDJSON, anything else CSV.',
          querystring: Type.Object({ skipInvalid: Type.Optional(Type.Boolean()) }),
          response: { 200: IngestReportOut, ...errors(400, 403, 413) },
        },
      },
      async (req, reply) => {
        const { skipInvalid } = req.query
        checkContentLength(req, app.limits.ingestBytes)
        const body = requireBodyStream(req)
        const format = await uploadFormat(req, body)
        // Big (or unsized, chunked) bodies are parsed in the engine's parse worker, so parsing
        // overlaps the database's staging writes; small ones skip the thread hop.
        const size = Number(req.headers['content-length'])
        const parse = Number.isFinite(size) && size < parseInWorkerFrom ? 'inline' : 'worker'
        const sid = await app.engine.beginIngest(kind, format, {
          skipInvalid: skipInvalid === true,
          maxRows: app.limits.ingestRows,
          parse,
        })
        let report: Awaited<ReturnType<typeof app.engine.finishIngest>>
        try {
          for await (const chunk of textChunks(body, app.limits.ingestBytes, format))
            await app.engine.pushIngest(sid, chunk)
          report = await app.engine.finishIngest(sid)
        } catch (e) {
          await app.engine.abortIngest(sid).catch(() => {})
          abandonBody(req, reply, body)
          throw e
        }
        const invalid = report.invalidRows ?? report.errors.length // every bad row; `errors` lists the first 100
        req.auditDetails = { format, stored: report.stored, errors: invalid, committed: report.committed }
        if (!report.committed && report.errors.length > 0) {
          const rows = report.errors
            .slice(0, 5)
            .map((e) => e.row)
            .join(', ')
          throw new LabelsError(
            'bad_request',
            `${invalid} invalid row(s) (rows ${rows}${invalid > 5 ? ', …' : ''}); nothing was stored`,
            '/body',
            {
              errors: report.errors.slice(0, 1000),
              invalidRows: invalid,
            },
          )
        }
        return report
      },
    )
  }
}
