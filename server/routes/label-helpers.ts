import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { Run } from '../../engine/api.ts'
import { badRequest, notFound } from '../../shared/errors.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import '../types.ts'

/** The `:label` route parameter (a label id or name). */
export const LabelParams = Type.Object({ label: Type.String({ minLength: 1, maxLength: 128 }) })

/** The label named by `:label` (id or name), or 404. */
export function resolveLabel(app: FastifyInstance, idOrName: string): WorkspaceLabel {
  const label = app.workspace.findLabel(idOrName)
  if (!label) throw notFound(`no label "${idOrName}"`, '/params/label')
  return label
}

export type LabelView = WorkspaceLabel & { lastRun: Run | null; nextRunAt: string | null }

/** Labels with their latest run and next scheduled run (one engine call for all). */
export async function withRunInfo(app: FastifyInstance, labels: WorkspaceLabel[]): Promise<LabelView[]> {
  const last = labels.length ? await app.calc.lastRuns(labels.map((l) => l.id)) : {}
  return labels.map((l) => ({ ...l, lastRun: last[l.id] ?? null, nextRunAt: app.calc.nextRunAt(l) }))
}

/** One label with its latest run and next scheduled run. */
export async function withRunInfoOf(app: FastifyInstance, label: WorkspaceLabel): Promise<LabelView> {
  const last = await app.calc.lastRuns([label.id])
  return { ...label, lastRun: last[label.id] ?? null, nextRunAt: app.calc.nextRunAt(label) }
}

/** Parses an optional asOf (ISO date or date-time) to a canonical ISO string; 400 otherwise. */
export function parseAsOf(asOf: string | undefined, path: string): string | undefined {
  if (asOf === undefined) return undefined
  const t = Date.parse(asOf)
  if (!/^\d{4}-\d{2}-\d{2}/.test(asOf) || Number.isNaN(t))
    throw badRequest(`${path}: "${asOf}" is not an ISO date-time`, path)
  const year = new Date(t).getUTCFullYear()
  if (year < 1 || year > 9999)
    throw badRequest(`${path}: "${asOf}" is outside the supported dates (years 0001 to 9999)`, path)
  return new Date(t).toISOString()
}
