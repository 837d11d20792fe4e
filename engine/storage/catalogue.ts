import type { SqlExecutor } from '../sql-executor.ts'

/** Types a user attribute or event property can have; inferred on first sight (docs/semantics.md#customer-data). */
export type ValueType = 'string' | 'number' | 'boolean' | 'date'

/** A typed attribute/property and the generated, injection-safe column that stores it. */
export interface ColumnRef {
  readonly name: string
  readonly type: ValueType
  /** Physical column name, always `c<digits>`: identifiers never come from user input. */
  readonly column: string
}

export interface EventInfo {
  readonly name: string
  /** Physical table name, always `ev<digits>`. */
  readonly table: string
  readonly properties: ReadonlyMap<string, ColumnRef>
}

/** The workspace's data schema: where each user attribute and event property lives. */
export interface Catalogue {
  readonly users: ReadonlyMap<string, ColumnRef>
  readonly events: ReadonlyMap<string, EventInfo>
}

/** SQL type of each value type. */
export const sqlType: Record<ValueType, string> = {
  string: 'text',
  number: 'double precision',
  boolean: 'boolean',
  date: 'timestamptz',
}

/** A row of either catalogue table, as loadCatalogue reads both in one statement. */
interface CatalogueRow {
  /** 'e': catalogue_events (owner: its table); 'c': catalogue_columns. */
  kind: 'e' | 'c'
  name: string
  owner: string
  type: ValueType | null
  col: string | null
}

/**
 * Reads the catalogue tables, both in one statement (a run compiles its rule twice: each round
 * trip counts, README "Fewer round trips per run"). `owner` is '' for user attributes, else the
 * event name.
 */
export async function loadCatalogue(db: SqlExecutor): Promise<Catalogue> {
  const r = await db.query<CatalogueRow>(
    `SELECT 'e' AS kind, id, name, tbl AS owner, NULL AS type, NULL AS col FROM catalogue_events
     UNION ALL SELECT 'c', id, name, owner, type, col FROM catalogue_columns ORDER BY kind, id`,
  )
  const users = new Map<string, ColumnRef>()
  const props = new Map<string, Map<string, ColumnRef>>()
  for (const c of r.rows) {
    if (c.kind !== 'c') continue
    const ref: ColumnRef = { name: c.name, type: c.type as ValueType, column: c.col as string }
    if (c.owner === '') users.set(c.name, ref)
    else {
      let m = props.get(c.owner)
      if (!m) props.set(c.owner, (m = new Map()))
      m.set(c.name, ref)
    }
  }
  const events = new Map<string, EventInfo>()
  for (const e of r.rows)
    if (e.kind === 'e') events.set(e.name, { name: e.name, table: e.owner, properties: props.get(e.name) ?? new Map() })
  return { users, events }
}

/** The catalogue in the shape of GET /api/data/schema. */
export function describeSchema(cat: Catalogue) {
  return {
    userAttributes: [...cat.users.values()].map(({ name, type }) => ({ name, type })),
    events: [...cat.events.values()].map((e) => ({
      name: e.name,
      properties: [...e.properties.values()].map(({ name, type }) => ({ name, type })),
    })),
  }
}
