import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AuditLog, type AuditLogOptions } from '../audit/audit-log.ts'
import '../types.ts'

/** The object a request names in its path (any route: a label, group, run or customer), for the audit entry. */
function target(req: FastifyRequest): string | undefined {
  const p: unknown = req.params
  if (typeof p !== 'object' || p === null) return undefined
  for (const k of ['label', 'id', 'runId', 'userId']) {
    const v: unknown = (p as Record<string, unknown>)[k]
    if (typeof v === 'string') return v
  }
  return undefined
}

export interface AuditPluginOptions extends AuditLogOptions {
  /** The live log file; rotated files sit next to it (audit.1.jsonl, …). */
  file: string
}

/** Decorates `app.audit` and records every request whose route declares `config.audit`. */
export default fp(
  async function auditPlugin(app: FastifyInstance, opts: AuditPluginOptions) {
    const log = new AuditLog(opts.file, { maxBytes: opts.maxBytes, keep: opts.keep })
    app.decorate('audit', log)
    app.decorateRequest('auditDetails', null)
    app.addHook('onResponse', async (req, reply) => {
      const spec = req.routeOptions.config.audit
      const action = typeof spec === 'function' ? spec(req) : spec
      if (!action) return
      const t = target(req)
      await log
        .append({
          actor: req.operator?.name ?? null,
          role: req.operator?.role ?? null,
          action,
          ...(t !== undefined ? { target: t } : {}),
          status: reply.statusCode,
          ...(req.auditDetails ? { details: req.auditDetails } : {}),
        })
        .catch((e: unknown) => req.log.error({ err: e }, 'audit append failed'))
    })
    app.addHook('onClose', async () => log.close())
  },
  { name: 'audit' },
)
