import type { EngineApi } from '../engine/api.ts'
import type { AuditLog } from './audit/audit-log.ts'
import type { Operator, Role } from './auth/roles.ts'
import type { CalcControl } from './calc/calc-control.ts'
import type { LiveHub } from './live/live-hub.ts'
import type { Workspace } from './workspace/workspace.ts'

/** What a route may declare in its `config`. */
export interface RouteConfig {
  /** Weakest role allowed; /api routes without it need admin (fail closed). */
  role?: Role
  /** Served without a token (only /api/health). */
  public?: boolean
  /** Audit action recorded when the request ends; a function may skip (null) e.g. JSON reads. */
  audit?: string | ((req: import('fastify').FastifyRequest) => string | null)
  /** A WebSocket route that checks Origin itself, first (the collab plugin): the auth plugin doesn't. */
  checksOrigin?: boolean
}

/** Size limits of request bodies and previews. */
export interface Limits {
  ingestBytes: number
  ingestRows: number
  importBytes: number
  importRows: number
  previewTimeoutMs: number
  calcTimeoutMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    engine: EngineApi
    audit: AuditLog
    live: LiveHub
    workspace: Workspace
    calc: CalcControl
    runQueue: import('./runs/run-queue.ts').RunQueue
    backfills: import('./runs/backfill.ts').Backfills
    /** Set by the scheduler plugin: re-read label timetables after a definition change. */
    scheduleChanged: (() => void) | null
    /** Workspace time zone (IANA), LABELS_TZ. */
    tz: string
    limits: Limits
  }
  interface FastifyRequest {
    operator: Operator | null
    /** Extra fields for this request's audit entry (e.g. the run id it started). */
    auditDetails: Record<string, unknown> | null
  }
  interface FastifyContextConfig extends RouteConfig {}
}
