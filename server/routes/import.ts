import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { newRunId, queuedRun } from '../../engine/calc/runs.ts'
import { LabelsError } from '../../shared/errors.ts'
import {
  abandonBody,
  bodyStream,
  checkContentLength,
  readText,
  requireBodyStream,
  sizeWords,
  takeAnyBodyAsStream,
} from '../http/body.ts'
import { errors, ImportReportOut } from '../http/wire-schemas.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

/** The uploaded CSV: a multipart `file` part, or a raw text/csv body. BOM dropped. */
async function uploadedCsv(req: FastifyRequest, limitBytes: number): Promise<{ text: string; stream: Readable }> {
  if (req.isMultipart()) {
    const part = await req.file({ limits: { fileSize: limitBytes, files: 1 } })
    if (!part) throw new LabelsError('bad_request', 'the multipart body has no file part', '/body/file')
    const text = await readText(part.file, limitBytes)
    // Busboy stops at its fileSize limit and marks the stream truncated instead of failing.
    if (part.file.truncated) throw new LabelsError('too_large', `the file is larger than ${sizeWords(limitBytes)}`)
    return { text, stream: part.file }
  }
  // Any other content type is the CSV itself (SPEC names none; takeAnyBodyAsStream).
  const stream = requireBodyStream(req)
  return { text: await readText(stream, limitBytes), stream }
}

function countRows(csv: string): number {
  let n = 0
  for (let i = csv.indexOf('\n'); i !== -1; i = csv.indexOf('\n', i + 1)) n++
  return csv.endsWith('\n') ? n : n + 1
}

/** POST /api/labels/:label/import — values of an import-method label from CSV `user_id,value`. */
export default async function importRoutes(fastify: FastifyInstance) {
  takeAnyBodyAsStream(fastify)
  const app = typed(fastify)
  app.post(
    '/api/labels/:label/import',
    {
      config: { role: 'editor', audit: 'label.import' },
      schema: {
        summary: 'Import values (CSV user_id,value; multipart file or text/csv body)',
        consumes: ['text/csv', 'multipart/form-data'],
        params: LabelParams,
        querystring: Type.Object({
          mode: Type.Optional(Type.Union([Type.Literal('replace'), Type.Literal('merge')])),
          skipInvalid: Type.Optional(Type.Boolean()),
        }),
        response: { 200: ImportReportOut, ...errors(400, 403, 404, 413, 422) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      if (label.rule.method !== 'import')
        throw new LabelsError(
          'invalid',
          `label "${label.name}" is calculated by its ${label.rule.method} rule; only import labels take files`,
          '/params/label',
        )
      const query = req.query
      const mode = query.mode ?? 'replace'
      const skipInvalid = query.skipInvalid === true
      const limit = app.limits.importBytes
      checkContentLength(req, limit, 64 * 1024) // multipart framing adds a little
      let csv: string
      try {
        csv = (await uploadedCsv(req, limit)).text
      } catch (e) {
        const stream = req.isMultipart() ? null : bodyStream(req)
        if (stream) abandonBody(req, reply, stream)
        else reply.header('connection', 'close')
        throw e
      }
      const rows = countRows(csv.trimEnd()) - 1
      if (rows > app.limits.importRows)
        throw new LabelsError('too_large', `the file has ${rows} rows; at most ${app.limits.importRows} per import`)
      // The run is announced queued, then running, as a calculation's (docs/api.md#live-channel: every status
      // change), under the id the engine stores it with.
      const now = new Date().toISOString()
      const queued = queuedRun({ id: newRunId(), labelId: label.id, trigger: 'import', asOf: now, createdAt: now })
      app.calc.announce(queued)
      const report = await app.runQueue
        .exclusive(label.id, () => {
          app.calc.announce({ ...queued, status: 'running', startedAt: new Date().toISOString() })
          return app.engine.importValues({
            labelId: label.id,
            dataType: label.dataType,
            csv,
            mode,
            tz: app.tz,
            definition: { dataType: label.dataType, rule: label.rule },
            skipInvalid,
            runId: queued.id,
          })
        })
        .catch(async (e: unknown) => {
          // Its end as stored, or (never stored: refused before it started) failed with the reason.
          const stored = await app.engine.getRun(queued.id).catch(() => null)
          app.calc.announce(
            stored && stored.status !== 'queued' && stored.status !== 'running'
              ? stored
              : {
                  ...queued,
                  status: 'failed',
                  finishedAt: new Date().toISOString(),
                  error: e instanceof Error ? e.message : String(e),
                },
          )
          throw e
        })
      const invalid = report.invalidRows ?? report.errors.length // every bad row; `errors` lists the first ones
      req.auditDetails = { runId: report.runId, mode, skipInvalid, imported: report.imported, errors: invalid }
      const run = await app.engine.getRun(report.runId)
      if (run) app.calc.announce(run)
      // With skipInvalid a file without one good row is reported, not refused (as ingestion does):
      // 200, nothing imported (the label keeps its results), the rows listed, its run failed.
      if (!report.committed && report.errors.length > 0 && !skipInvalid) {
        throw new LabelsError('bad_request', `${invalid} invalid row(s); nothing was imported`, '/body', {
          errors: report.errors.slice(0, 1000),
          invalidRows: invalid,
          runId: report.runId,
        })
      }
      return report
    },
  )
}
