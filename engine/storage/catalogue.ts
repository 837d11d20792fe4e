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

interface EventRow {
  id: number
  name: string
  tbl: string
}
interface ColumnRow {
  owner: string
  name: string
  type: ValueType
  col: string
}

/** Reads the catalogue tables. `owner` is '' for user attributes, else the event name. */
export async function loadCatalogue(db: SqlExecutor): Promise<Catalogue> {
  const ev = await db.query<EventRow>('SELECT id, name, tbl FROM catalogue_events ORDER BY id')
  const cols = await db.query<ColumnRow>('SELECT owner, name, type, col FROM catalogue_columns ORDER BY id')
  const users = new Map<string, ColumnRef>()
  const props = new Map<string, Map<string, ColumnRef>>()
  for (const c of cols.rows) {
    const ref: ColumnRef = { name: c.name, type: c.type, column: c.col }
    if (c.owner === '') users.set(c.name, ref)
    else {
      let m = props.get(c.owner)
      if (!m) props.set(c.owner, (m = new Map()))
      m.set(c.name, ref)
    }
  }
  const events = new Map<string, EventInfo>()
  for (const e of ev.rows)
    events.set(e.name, { name: e.name, table: e.tbl, properties: props.get(e.name) ?? new Map() })
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
