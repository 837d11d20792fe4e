import type { Definition } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { notFound } from '../../shared/errors.ts'
import { measureWords } from '../../shared/rule-words.ts'
import type { Condition, Filter, Rule, Window } from '../../shared/schemas/rule.ts'
import { outputValue } from '../calc/value-types.ts'
import { loadRun } from '../calc/runs.ts'
import { Deadline, isStatementTimeout, timeoutError } from '../calc/timeout.ts'
import { compileExplain, type ExplainCondLayout, type ExplainLayout } from '../compiler/explain-rule.ts'
import { intervalNames } from '../compiler/resolve-rule.ts'
import { loadCatalogue } from '../storage/catalogue.ts'
import { loadLabelState } from './label-state.ts'
import type {
  ExplainCondition,
  ExplainEvents,
  ExplainReason,
  ExplainScalar,
  ExplainTopValues,
  ExplainValue,
  Explanation,
} from './explain-types.ts'
import { conditionText, notesText, scopeWords, summaryText } from './explain-words.ts'

type Row = Record<string, unknown>

/** Options of an explanation: the workspace zone (used without a run) and the label's current definition. */
export interface ExplainOptions {
  tz: string
  /** The label's definition now: explains a label without runs, and tells whether the rule changed since the run. */
  definition?: Definition
  timeoutMs?: number
}

/** Key order doesn't make two definitions different. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

const sameValue = (a: ExplainValue, b: ExplainValue) => canonical(a) === canonical(b)

/**
 * Why a customer has their value of a label (docs/api.md#explain-a-customers-value): the
 * value the label's current run stored, beside the value the run's own rule gives for this
 * customer as of the run's asOf, computed by the rule's statement over this customer's rows
 * (engine/compiler/explain-rule.ts) — so the two agree unless the customer's data changed after
 * the run, which the answer then says. With the reason per method: custom layers and each
 * condition's measured value, the measure and the events behind it, the picked event, the
 * ranking, or the import. A label without a successful run is explained with its current rule as
 * of now. Unknown customer: 404. Read-only, one transaction holding the results pointer FOR SHARE.
 */
export async function explainCustomer(
  db: SqlExecutor,
  labelId: string,
  userId: string,
  opts: ExplainOptions,
): Promise<Explanation> {
  const deadline = new Deadline(opts.timeoutMs)
  try {
    return await db.transaction(async (outer) => {
      const tx = deadline.bound(outer)
      const u = await tx.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id = $1`, [userId])
      const uid = u.rows[0]?.uid
      if (uid === undefined) throw notFound(`no customer with user_id ${JSON.stringify(userId)}`, '/params/userId')
      const state = await loadLabelState(tx, labelId, true)
      const run = state ? await loadRun(tx, state.runId) : null
      const def = run?.definition ?? opts.definition
      if (!def) throw notFound(`label ${labelId} has no definition and no results`, '/params/label')
      const asOf = run ? new Date(run.asOf) : new Date()
      const tz = state?.tz ?? opts.tz
      let stored: ExplainValue = null
      if (state) {
        const s = await tx.query<{ v: unknown }>(`SELECT to_jsonb(value) AS v FROM ${state.table} WHERE uid = $1`, [
          uid,
        ])
        const row = s.rows[0]
        stored = row ? (outputValue(state.dataType, row.v) as ExplainValue) : null
      }
      const base = {
        labelId,
        userId,
        method: def.rule.method,
        dataType: def.dataType,
        run: run ? { id: run.id, trigger: run.trigger, asOf: run.asOf, finishedAt: run.finishedAt } : null,
        asOf: asOf.toISOString(),
        stored,
        definitionChanged:
          run !== null && opts.definition !== undefined && canonical(run.definition) !== canonical(opts.definition),
      }
      let computed: ExplainValue
      let reason: ExplainReason
      let newerEvents: Explanation['newerEvents'] = []
      if (def.rule.method === 'import') {
        computed = stored
        reason = await importReason(
          tx,
          labelId,
          run ? { runId: run.id, trigger: run.trigger, at: run.finishedAt } : null,
        )
      } else {
        const plan = compileExplain(def, { catalogue: await loadCatalogue(tx), asOf, tz, uid })
        const r = await tx.query<Row>(plan.sql, plan.params)
        const row = r.rows[0]
        if (!row) throw notFound(`no customer with user_id ${JSON.stringify(userId)}`, '/params/userId')
        computed =
          row.value === null || row.value === undefined ? null : (outputValue(def.dataType, row.value) as ExplainValue)
        newerEvents = (row.newer as Explanation['newerEvents']) ?? []
        reason = reasonOf(def.rule, plan.layout, row)
      }
      deadline.check()
      const x: Explanation = {
        ...base,
        computed,
        agrees: run === null ? stored === null || sameValue(stored, computed) : sameValue(stored, computed),
        newerEvents,
        summary: '',
        notes: [],
        reason,
      }
      x.summary = summaryText(x)
      x.notes = notesText(x)
      return x
    })
  } catch (e) {
    if (isStatementTimeout(e) && opts.timeoutMs !== undefined) throw timeoutError(opts.timeoutMs)
    throw e
  }
}

async function importReason(
  tx: SqlExecutor,
  labelId: string,
  source: { runId: string; trigger: string; at: string | null } | null,
): Promise<ExplainReason> {
  const r = await tx.query<{ id: string; finished_at: Date | string | null; covered_users: number | null }>(
    `SELECT id, finished_at, covered_users FROM runs WHERE label_id = $1 AND trigger = 'import' AND status = 'succeeded' ORDER BY created_at DESC, id DESC LIMIT 5`,
    [labelId],
  )
  return {
    method: 'import',
    source,
    imports: r.rows.map((x) => ({
      runId: x.id,
      at: x.finished_at === null ? null : new Date(x.finished_at).toISOString(),
      coveredUsers: x.covered_users,
    })),
  }
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

function eventsOf(row: Row, col: string, scope: { event: string; where?: Filter[]; window?: Window }): ExplainEvents {
  const j = (row[col] ?? {}) as {
    count?: number
    first?: string | null
    last?: string | null
    from?: string | null
    to?: string
    recent?: Array<{ time: string; eventId: string | null }>
  }
  return {
    event: scope.event,
    scope: scopeWords(scope),
    from: j.from ?? null,
    to: j.to ?? '',
    count: Number(j.count ?? 0),
    first: j.first ?? null,
    last: j.last ?? null,
    recent: j.recent ?? [],
  }
}

function topOf(row: Row, col: string | null, property: string): ExplainTopValues | null {
  if (col === null) return null
  const j = (row[col] ?? {}) as { values?: Array<{ value: ExplainScalar; events: number }>; distinct?: number }
  return {
    property,
    values: (j.values ?? []).map((v) => ({ value: v.value, events: Number(v.events) })),
    distinct: Number(j.distinct ?? 0),
  }
}

/** Walks a condition of the rule JSON beside its layout (same shape: resolve-condition.ts keeps the order). */
function conditionOf(c: Condition, l: ExplainCondLayout, row: Row, path: string): ExplainCondition {
  const result = row[l.ok] === true
  let x: ExplainCondition
  if ('all' in c && (l.kind === 'all' || l.kind === 'any'))
    x = {
      kind: 'all',
      path,
      result,
      text: '',
      items: c.all.map((y, i) => conditionOf(y, l.items[i] as ExplainCondLayout, row, `${path}/all/${i}`)),
    }
  else if ('any' in c && (l.kind === 'all' || l.kind === 'any'))
    x = {
      kind: 'any',
      path,
      result,
      text: '',
      items: c.any.map((y, i) => conditionOf(y, l.items[i] as ExplainCondLayout, row, `${path}/any/${i}`)),
    }
  else if ('not' in c && l.kind === 'not')
    x = { kind: 'not', path, result, text: '', item: conditionOf(c.not, l.item, row, `${path}/not`) }
  else if ('attribute' in c && l.kind === 'attribute')
    x = {
      kind: 'attribute',
      path,
      attribute: c.attribute,
      op: c.op,
      ...(c.value !== undefined ? { value: c.value } : {}),
      actual: (row[l.actual] ?? null) as ExplainScalar,
      result,
      text: '',
    }
  else if ('event' in c && l.kind === 'behaviour')
    x = {
      kind: 'behaviour',
      path,
      event: c.event,
      measure: measureWords(c.measure),
      op: c.op,
      value: c.value,
      measured: num(row[l.measured]),
      result,
      text: '',
      events: eventsOf(row, l.events, c),
    }
  else throw new Error(`explain layout does not match the condition at ${path}`)
  x.text = conditionText(x)
  return x
}

function reasonOf(rule: Rule, layout: ExplainLayout, row: Row): ExplainReason {
  if (rule.method === 'custom' && layout.method === 'custom') {
    const layers = rule.values.map((v, i) => {
      const condition = conditionOf(v.when, layout.layers[i] as ExplainCondLayout, row, `/rule/values/${i}/when`)
      return { index: i, value: v.value as ExplainValue, matched: condition.result, condition }
    })
    const first = layers.find((l) => l.matched)
    return {
      method: 'custom',
      layers,
      matchedLayer: first ? first.index : null,
      otherwise: (rule.otherwise ?? null) as ExplainValue,
    }
  }
  if (rule.method === 'metric' && layout.method === 'metric')
    return {
      method: 'metric',
      measure: measureWords(rule.measure),
      measured: num(row[layout.measured]),
      events: eventsOf(row, layout.events, rule),
      top: topOf(row, layout.top, 'property' in rule.measure ? rule.measure.property : ''),
    }
  if (rule.method === 'distribution' && layout.method === 'distribution') {
    const measured = num(row[layout.measured])
    const names = rule.names ?? intervalNames(rule.boundaries)
    let bucket: Extract<ExplainReason, { method: 'distribution' }>['bucket'] = null
    if (measured !== null) {
      const i = rule.boundaries.findIndex((b) => measured < b)
      const k = i === -1 ? rule.boundaries.length : i
      bucket = { name: names[k] as string, from: rule.boundaries[k - 1] ?? null, to: rule.boundaries[k] ?? null }
    }
    return {
      method: 'distribution',
      measure: measureWords(rule.measure),
      measured,
      bucket,
      boundaries: rule.boundaries,
      names,
      events: eventsOf(row, layout.events, rule),
      top: topOf(row, layout.top, 'property' in rule.measure ? rule.measure.property : ''),
    }
  }
  if (rule.method === 'first_last' && layout.method === 'first_last')
    return {
      method: 'first_last',
      which: rule.which,
      property: rule.property,
      picked: (row[layout.picked] ?? null) as Extract<ExplainReason, { method: 'first_last' }>['picked'],
      events: eventsOf(row, layout.events, rule),
      top: topOf(row, layout.top, rule.property),
    }
  if (rule.method === 'preference' && layout.method === 'preference') {
    const top = rule.top ?? 1
    const ranking = (
      (row[layout.ranking] ?? []) as Array<{ value: ExplainScalar; measure: unknown; events: number; rank: number }>
    ).map((r) => ({
      value: r.value,
      measure: num(r.measure),
      events: Number(r.events),
      rank: Number(r.rank),
      chosen: Number(r.rank) <= top,
    }))
    return {
      method: 'preference',
      property: rule.property,
      by: measureWords(rule.by),
      top,
      ranking,
      events: eventsOf(row, layout.events, rule),
    }
  }
  throw new Error(`explain layout ${layout.method} does not match the rule ${rule.method}`)
}
