/**
 * Rule → SQL compiler (docs/rules.md) and rule validation against the data catalogue.
 *
 * Pipeline: `check()` the JSON shape (400 bad_request) → resolve names through the
 * catalogue and check values, types and limits (422 invalid, with a JSON path; resolve-*.ts)
 * → emit one statement from the tagged tree (emit-*.ts, one Record per tag).
 *
 * Semantics chosen where the rule format leaves a choice (docs/semantics.md; the tests pin each one against
 * tests/helpers/reference.ts):
 * - Missing values: positive ops (eq, gt…, in, contains, between) never match a missing
 *   property/attribute; `neq`, `not_in`, `is_not_set` are their exact complements and do
 *   ("city is not Paris" includes customers without a city).
 * - `contains` is a case-sensitive substring test; `%` and `_` are plain characters.
 * - Strings order by code point (COLLATE "C") in gt/lt/between and preference ties, so
 *   PGlite and PostgreSQL with any locale agree.
 * - Dates in values are ISO; a calendar date or zoneless date-time is read in the workspace
 *   time zone, `Z`/offsets are honoured.
 * - Windows: lastDays n = [asOf − n × 24 h, asOf); {from,to} = local midnights in the zone.
 *   `days` counts distinct local calendar days.
 * - Conditions are two-valued: a behaviour whose measure has no value (avg/min/max without
 *   events) is false, and `not` negates that, so `not(avg > 5)` includes non-buyers.
 * - metric/distribution with an additive measure cover every user (0 without events);
 *   with avg/min/max only users that have a value.
 * - first_last reads only events where the property is set; equal times → higher seq.
 * - preference: top 1 gives the property's type (or its text for a string label; dates
 *   can't be string labels), top > 1 needs a collection label and gives text values
 *   (dates as ISO instants in UTC). Ranked by `by` desc (additive missing = 0, others
 *   last), then value ascending.
 * - custom: an empty collection is no value (the user is not covered).
 * - import is validated but never compiled: compileRule throws 422.
 */
export { compileRule, type CompileContext, type CompiledRule } from './compile-rule.ts'
export { validateDefinition, validateDefinition as validateLabelDefinition } from './validate-definition.ts'
export { intervalNames } from './resolve-rule.ts'
export { isIsoDate } from '../../shared/formats.ts'
export { ruleLimits as limits } from '../../shared/limits.ts'
export type { RuleNode } from './ir.ts'
