import type { SchemaDescription } from '../api.ts'
import { badRequest } from '../../shared/errors.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { loadCatalogue, type ValueType } from '../storage/catalogue.ts'
import { addColumn, addEvent, lockCatalogue } from '../storage/extend.ts'

const valueTypes: ReadonlySet<string> = new Set<ValueType>(['string', 'number', 'boolean', 'date'])

function valueType(type: string, path: string): ValueType {
  if (!valueTypes.has(type)) throw badRequest(`unknown value type ${JSON.stringify(type)}`, path)
  return type as ValueType
}

/**
 * Declares a sample's data schema in a replica before the sample is ingested there, so every
 * attribute and property keeps its source type: ingestion infers types on first sight, and a
 * string column whose first sampled value looks like a date would otherwise become a date
 * (and refuse the next non-date value). Columns and events that already exist are left as they are.
 */
export async function declareSampleSchema(db: SqlExecutor, schema: SchemaDescription): Promise<void> {
  await db.transaction(async (tx) => {
    await lockCatalogue(tx)
    const cat = await loadCatalogue(tx)
    for (const [i, a] of schema.userAttributes.entries()) {
      if (!cat.users.has(a.name))
        await addColumn(tx, null, a.name, valueType(a.type, `/schema/userAttributes/${i}/type`))
    }
    for (const [i, e] of schema.events.entries()) {
      const known = cat.events.get(e.name)
      const table = known?.table ?? (await addEvent(tx, e.name))
      for (const [j, p] of e.properties.entries()) {
        if (!known?.properties.has(p.name))
          await addColumn(
            tx,
            { event: e.name, table },
            p.name,
            valueType(p.type, `/schema/events/${i}/properties/${j}/type`),
          )
      }
    }
  })
}
