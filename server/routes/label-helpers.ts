import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { Run } from '../../engine/api.ts'
import { badRequest, notFound } from '../../shared/errors.ts'
import { isoInstant, readIsoDateTime } from '../../shared/formats.ts'
import { fromLocal } from '../../shared/schedule-tz.ts'
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

/**
 * Parses an optional asOf (ISO date or date-time) to a canonical ISO string; 400 otherwise. A date
 * or date-time without an offset is wall time in the workspace zone `tz`, as every other date the
 * API reads (window dates, import values, the audience's `value`): `"2026-12-05"` is that day's
 * local midnight, so its run's history day is the 5th.
 */
export function parseAsOf(asOf: string | undefined, path: string, tz: string): string | undefined {
  if (asOf === undefined) return undefined
  const t = typeof asOf === 'string' ? readIsoDateTime(asOf) : null
  if (!t) throw badRequest(`${path}: "${asOf}" is not an ISO date-time`, path)
  const outside = () => badRequest(`${path}: "${asOf}" is outside the supported dates (years 0001 to 9999)`, path)
  if (t.year < 1 || t.year > 9999) throw outside()
  // (Wall time before year 100 is read as UTC: the zone arithmetic's Date.UTC maps years 0–99 to 19xx.)
  const ms =
    t.offsetMinutes === null && t.year >= 100
      ? fromLocal({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, tz) +
        t.millisecond
      : Date.parse(isoInstant(t))
  const year = new Date(ms).getUTCFullYear()
  if (!Number.isFinite(ms) || year < 1 || year > 9999) throw outside()
  return new Date(ms).toISOString()
}
