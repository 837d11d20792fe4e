import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import multipart from '@fastify/multipart'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import websocket from '@fastify/websocket'
import type { EngineApi } from '../engine/api.ts'
import { TokenRegistry, type TokenEntry } from './auth/tokens.ts'
import { selectProtocol } from '../shared/ws-protocol.ts'
import { installErrorHandlers } from './http/error-handler.ts'
import { logSerializers } from './http/log-redact.ts'
import { makeSerializerCompiler, validatorCompiler } from './http/schema-compilers.ts'
import { referenceSharedSchemas, sharedSchemas } from './http/openapi-refs.ts'
import { placeholderPage } from './http/placeholder-page.ts'
import auditPlugin from './plugins/audit.ts'
import authPlugin from './plugins/auth.ts'
import rateLimitsPlugin, { defaultRateLimits, type RateLimits } from './plugins/rate-limits.ts'
import calcPlugin, { type CalcPluginOptions } from './plugins/calc.ts'
import enginePlugin from './plugins/engine.ts'
import livePlugin from './plugins/live.ts'
import workspacePlugin from './plugins/workspace.ts'
import dataRoutes from './routes/data.ts'
import distributionRoutes from './routes/distribution.ts'
import draftRoutes from './routes/drafts.ts'
import groupRoutes from './routes/groups.ts'
import importRoutes from './routes/import.ts'
import labelRoutes from './routes/labels.ts'
import previewRoutes from './routes/preview.ts'
import runRoutes from './routes/runs.ts'
import sampleRoutes from './routes/sample.ts'
import systemRoutes from './routes/system.ts'
import userRoutes from './routes/users.ts'
import versionRoutes from './routes/versions.ts'
import explainRoutes from './routes/explain.ts'
import historyRoutes from './routes/history.ts'
import versionsPlugin from './plugins/versions.ts'
import type { Limits } from './types.ts'
import type { DocStore } from './collab/index.ts'
import type { Cluster } from './cluster/index.ts'
import { idMaxLength } from '../shared/limits.ts'

export interface AppOptions {
  engine: EngineApi
  /** Which database the engine runs on (for /api/health). */
  db: 'pglite' | 'postgres'
  /** Audit log, admin token and (for PGlite) the database live here. */
  dataDir: string
  tokens: TokenEntry[]
  /** Workspace time zone (IANA), default UTC. */
  tz?: string
  /** Storage of the collaborative workspace document; without it, in memory and no /collab endpoint. */
  docStore?: DocStore
  /** A collaborative document nobody is connected to is unloaded after this long (default 30 s; `main` never). */
  collabUnloadMs?: number
  /** The longest a stored update waits to be relayed with the next ones (LiveDocOptions.relayHoldMs). */
  collabRelayHoldMs?: number
  /** Audit log rotation: size of the live file, rotated files kept (defaults 50 MiB, 5). */
  audit?: { maxBytes?: number; keep?: number }
  limits?: Partial<Limits>
  /** Per-operator requests a minute on expensive routes, and failed logins per address (defaults in plugins/rate-limits.ts). */
  rateLimits?: Partial<RateLimits>
  calc?: CalcPluginOptions
  /** Built web app to serve at /; a placeholder page when missing. */
  clientDir?: string
  logger?: FastifyServerOptions['logger']
  /** Origins besides the server's own whose pages may open WebSockets (LABELS_ALLOWED_ORIGINS). */
  allowedOrigins?: string[]
  /** Check every JSON reply against its declared response schema (tests). */
  strictResponses?: boolean
  /** Several processes on one PostgreSQL database (server/cluster; main.ts starts it with DATABASE_URL). */
  cluster?: Cluster
}

export const defaultLimits: Limits = {
  ingestBytes: 1024 * 1024 * 1024,
  ingestRows: 50_000_000,
  importBytes: 64 * 1024 * 1024,
  importRows: 2_000_000,
  previewTimeoutMs: 10_000,
  calcTimeoutMs: 30 * 60_000,
}

/** Builds the whole server without listening, so tests can `app.inject` and main can `listen`. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const limits = { ...defaultLimits, ...opts.limits }
  const logger = opts.logger ?? false
  const app = Fastify({
    // Tokens in `?token=` (WebSocket and download URLs) are redacted from every request log line.
    logger:
      logger === false
        ? false
        : {
            ...(logger === true ? {} : logger),
            serializers: { ...(logger === true ? {} : logger.serializers), ...logSerializers },
          },
    // JSON bodies are small (definitions); data uploads stream past this limit.
    bodyLimit: 4 * 1024 * 1024,
    // A path parameter may be a whole user_id (up to idMaxLength characters, percent-encoded up to
    // 12 characters each): longer than find-my-way's default of 100.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: idMaxLength * 12 },
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(makeSerializerCompiler(opts.strictResponses ?? false))
  const clientDir = opts.clientDir && existsSync(join(opts.clientDir, 'index.html')) ? opts.clientDir : null
  // Unknown GETs outside /api and /collab are the web app's client-side routes: serve its shell.
  installErrorHandlers(
    app,
    clientDir ? (_req, reply) => reply.type('text/html; charset=utf-8').sendFile('index.html') : undefined,
  )
  app.decorate('tz', opts.tz ?? 'UTC')
  app.decorate('limits', limits)
  app.decorate('scheduleChanged', null)
  // An empty body sent with a content type (a client that always sets `application/json`) is no
  // body: a route whose body is optional (calculate's `{asOf?}`) takes it as absent.
  // Without Content-Length or Transfer-Encoding a request has no body (HTTP/1.1), as `curl -X POST`
  // without data sends it.
  app.addHook('onRequest', async (req) => {
    const length = req.headers['content-length']
    if ((length === '0' || length === undefined) && req.headers['transfer-encoding'] === undefined)
      delete req.headers['content-type']
  })
  // Data bodies reach the routes as streams: they enforce their own (larger) limits.
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl', 'text/csv', 'text/plain'],
    (_req, payload, done) => done(null, payload),
  )

  await app.register(swagger, {
    openapi: {
      info: { title: 'Labels API', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas (Rule, Label, Run…) are emitted once, under their $id, and referenced (http/openapi-refs.ts).
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transform: referenceSharedSchemas,
  })
  for (const schema of sharedSchemas()) app.addSchema(schema)
  await app.register(multipart, { limits: { fileSize: limits.importBytes, files: 1, fields: 10 } })
  // The web app offers ['labels.v1', 'labels.token.…']: answer labels.v1, never echo the token.
  await app.register(websocket, { options: { maxPayload: 2 * 1024 * 1024, handleProtocols: selectProtocol } })

  const pendingRunsFile = join(opts.dataDir, 'runs-pending.ndjson')
  await app.register(enginePlugin, { engine: opts.engine, clustered: opts.cluster !== undefined, pendingRunsFile })
  await app.register(auditPlugin, { file: join(opts.dataDir, 'audit.jsonl'), ...opts.audit })
  const tokens = new TokenRegistry(opts.tokens)
  const rateLimits = { ...defaultRateLimits, ...opts.rateLimits }
  await app.register(authPlugin, {
    tokens,
    failuresPerMinute: rateLimits.authFailuresPerMinute,
    allowedOrigins: opts.allowedOrigins ?? [],
  })
  await app.register(rateLimitsPlugin, { limits: rateLimits })
  await app.register(workspacePlugin, {
    tokens,
    ...(opts.docStore ? { docStore: opts.docStore } : {}),
    unloadAfterMs: opts.collabUnloadMs,
    relayHoldMs: opts.collabRelayHoldMs,
    allowedOrigins: opts.allowedOrigins ?? [],
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
  })
  await app.register(livePlugin)
  await app.register(calcPlugin, {
    pendingRunsFile,
    timeoutMs: limits.calcTimeoutMs,
    ...opts.calc,
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
  })
  await app.register(versionsPlugin)

  await app.register(systemRoutes, { db: opts.db })
  await app.register(dataRoutes)
  await app.register(sampleRoutes)
  await app.register(groupRoutes)
  await app.register(labelRoutes)
  await app.register(draftRoutes)
  await app.register(runRoutes)
  await app.register(distributionRoutes)
  await app.register(userRoutes)
  await app.register(importRoutes)
  await app.register(previewRoutes)
  await app.register(versionRoutes)
  await app.register(explainRoutes)
  await app.register(historyRoutes)

  if (clientDir) {
    await app.register(fastifyStatic, { root: clientDir, wildcard: false })
  } else {
    app.get('/', { schema: { hide: true } }, (_req, reply) =>
      reply.type('text/html; charset=utf-8').send(placeholderPage()),
    )
  }
  return app
}
