import type { Definition } from '../api.ts'
import { badRequest } from '../../shared/errors.ts'

/** Days a backfill may cover at most (docs/api.md#backfill). */
export const maxBackfillDays = 90

/** The label's history can be calculated for past days: not an import label (its values have no past). */
export function checkBackfillable(def: Definition, name: string): void {
  if (def.rule.method === 'import')
    throw badRequest(
      `label "${name}" takes its values from uploaded files: there is no past to calculate, so it can't be backfilled`,
      '/params/label',
    )
}
