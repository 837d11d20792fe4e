import { maxAudienceLimit } from '../../engine/read/audience.ts'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { DataType } from '../../shared/schemas/label.ts'
import type { AudiencePage, EngineApi } from '../../engine/api.ts'
import { sendStream } from '../http/body.ts'
import { attachment, csvLine, UTF8_BOM } from '../http/csv.ts'
import { queryValue } from '../http/request-path.ts'
import { errors } from '../http/wire-schemas.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'
import { idMaxLength } from '../../shared/limits.ts'

const PAGE = 5000

/**
 * Walks a label's audience page by page, so a million users never sit in memory at once. The
 * cursor pins every page to the first page's run: if a run replaces the results mid-export the
 * next page throws (409) and the response is cut off (invalid JSON / a truncated chunked CSV)
 * rather than mixing two runs.
 */
async function* audiencePages(engine: EngineApi, labelId: string, dataType: DataType, value: string | undefined) {
  let after: string | undefined
  for (;;) {
    const page = await engine.audience(labelId, dataType, {
      ...(value !== undefined ? { value } : {}),
      ...(after !== undefined ? { after } : {}),
      limit: PAGE,
    })
    yield page
    if (page.nextCursor === null || page.users.length === 0) return
    after = page.nextCursor
  }
}

type Pages = AsyncGenerator<AudiencePage>

async function* audienceCsv(pages: Pages) {
  yield UTF8_BOM + csvLine(['user_id', 'value'])
  for await (const { users } of pages) {
    let chunk = ''
    for (const u of users) chunk += csvLine([u.userId, u.value])
    if (chunk) yield chunk
  }
}

async function* audienceJson(labelId: string, pages: Pages) {
  yield `{"labelId":${JSON.stringify(labelId)},"users":[`
  let first = true
  for await (const { users } of pages) {
    if (users.length === 0) continue
    const body = users.map((u) => JSON.stringify({ userId: u.userId, value: u.value })).join(',')
    yield (first ? '' : ',') + body
    first = false
  }
  yield ']}'
}

const AudienceOut = Type.Object({
  labelId: Type.String(),
  users: Type.Array(Type.Object({ userId: Type.String(), value: Type.Unknown() })),
  nextCursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  runId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})

/** The audience of a label (streamed JSON or CSV) and the per-user label lookup. */
export default async function userRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/labels/:label/users',
    {
      config: {
        role: 'viewer',
        audit: (req) => (queryValue(req, 'limit') === undefined ? 'export.audience' : null),
      },
      schema: {
        summary:
          'Users holding the label (optionally one value); streamed. With limit: one page, its runId and nextCursor (pins later pages to that run: 409 once it is replaced).',
        params: LabelParams,
        querystring: Type.Object({
          value: Type.Optional(Type.String({ maxLength: 2000 })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxAudienceLimit })),
          after: Type.Optional(Type.String({ minLength: 3, maxLength: 200 })),
        }),
        response: { 200: AudienceOut, ...errors(400, 403, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, req.params.label)
      const q = req.query
      const waitMs = app.calc.readWaitMs
      if (q.limit !== undefined && q.format !== 'csv') {
        const limit = q.limit
        const page = await boundedRead(
          () =>
            app.engine.audience(label.id, label.dataType, {
              ...(q.value !== undefined ? { value: q.value } : {}),
              ...(q.after !== undefined ? { after: q.after } : {}),
              limit,
            }),
          { waitMs, reply, what: 'the audience is read from the database' },
        )
        return { labelId: label.id, users: page.users, nextCursor: page.nextCursor, runId: page.runId }
      }
      // Read the first page before answering, so an engine error still gets a proper status.
      // PGlite: the first page waits a bounded time behind a calculation (503 + Retry-After after
      // it); later pages of a started export wait as long as it takes (the response is streaming).
      const pages = audiencePages(app.engine, label.id, label.dataType, q.value)
      const first = await boundedRead(() => pages.next(), {
        waitMs,
        reply,
        what: 'the audience is read from the database',
      })
      async function* all() {
        if (!first.done) yield first.value
        yield* pages
      }
      if (!first.done && first.value.runId) reply.header('x-labels-run-id', first.value.runId)
      if (q.format === 'csv') {
        reply.type('text/csv; charset=utf-8').header('content-disposition', attachment(`${label.name}-users.csv`))
        return sendStream(reply, Readable.from(audienceCsv(all())))
      }
      return sendStream(reply.type('application/json; charset=utf-8'), Readable.from(audienceJson(label.id, all())))
    },
  )

  app.get(
    '/api/users/:userId/labels',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "One customer's label values",
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: idMaxLength }) }),
        response: {
          200: Type.Object({
            userId: Type.String(),
            labels: Type.Array(
              Type.Object({ labelId: Type.String(), name: Type.String(), value: Type.Unknown(), asOf: Type.String() }),
            ),
          }),
          ...errors(403, 503),
        },
      },
    },
    async (req, reply) => {
      const { userId } = req.params
      const values = await boundedRead(() => app.engine.userLabels(userId), {
        waitMs: app.calc.readWaitMs,
        reply,
        what: "a customer's labels are read from the database",
      })
      const labels = values.flatMap((v) => {
        const l = app.workspace.findLabel(v.labelId)
        return l ? [{ labelId: v.labelId, name: l.name, value: v.value, asOf: v.asOf }] : []
      })
      return { userId, labels }
    },
  )
}
