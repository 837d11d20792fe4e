// The refresh benchmark's peer: DuckDB (in memory, as many threads as the machine has cores)
// loading the same NDJSON files and running each label's hand-written SQL one by one, each into
// a result table of its own (the engine writes one per run too). Bench only: product code never
// imports @duckdb/node-api.
import { cpus } from 'node:os'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { eventProps, type BenchLabel } from './refresh-workspace.ts'
import type { Digest } from './refresh-digest.ts'

export interface Duck {
  con: DuckDBConnection
  close(): void
}

export async function openDuck(): Promise<Duck> {
  const inst = await DuckDBInstance.create(':memory:', { threads: String(cpus().length) })
  const con = await inst.connect()
  return {
    con,
    close: () => {
      con.closeSync()
      inst.closeSync()
    },
  }
}

const propTypes: Record<string, string> = {
  product_id: 'VARCHAR',
  category: 'VARCHAR',
  price: 'DOUBLE',
  amount: 'DOUBLE',
  channel: 'VARCHAR',
  coupon: 'VARCHAR',
  discount: 'DOUBLE',
}

/** Loads users and events (the NDJSON wire form) into `users` and one `ev_<event>` table per event. */
export async function loadDuckUsers(d: Duck, path: string): Promise<number> {
  await d.con.run(`CREATE TABLE users AS SELECT row_number() OVER () ::INTEGER AS uid, user_id,
      properties.city AS city, properties.age AS age, properties.gender AS gender,
      properties.membership_level AS membership_level,
      CAST(replace(properties.registration_date, 'Z', '') AS TIMESTAMP) AS registration_date
    FROM read_json('${path}', format = 'newline_delimited', columns = {user_id: 'VARCHAR',
      properties: 'STRUCT(city VARCHAR, age DOUBLE, gender VARCHAR, membership_level VARCHAR, registration_date VARCHAR)'})`)
  const r = await d.con.runAndReadAll('SELECT count(*)::INTEGER AS n FROM users')
  return Number(r.getRows()[0]?.[0])
}

/** Appends a file of events; seq continues from the events already loaded (ingestion order). */
export async function loadDuckEvents(d: Duck, path: string): Promise<number> {
  const props = Object.entries(propTypes)
    .map(([p, t]) => `${p} ${t}`)
    .join(', ')
  const first = !(await tableExists(d, 'ev_app_open'))
  const base = first
    ? 0
    : Number(
        (
          await d.con.runAndReadAll(
            `SELECT max(seq) FROM (${Object.keys(eventProps)
              .map((e) => `SELECT max(seq) AS seq FROM ev_${e}`)
              .join(' UNION ALL ')})`,
          )
        ).getRows()[0]?.[0] ?? 0,
      )
  await d.con.run(`CREATE OR REPLACE TEMP TABLE raw AS SELECT ${base}::BIGINT + row_number() OVER () AS seq, r.*
    FROM read_json('${path}', format = 'newline_delimited', columns = {event: 'VARCHAR', time: 'VARCHAR', user_id: 'VARCHAR',
      event_id: 'VARCHAR', properties: 'STRUCT(${props})'}) r`)
  let n = 0
  for (const [event, ps] of Object.entries(eventProps)) {
    const cols = Object.keys(ps)
      .map((p) => `, r.properties.${p} AS ${p}`)
      .join('')
    const select = `SELECT r.seq, u.uid, CAST(replace(r.time, 'Z', '') AS TIMESTAMP) AS time, r.event_id${cols}
      FROM raw r JOIN users u ON u.user_id = r.user_id WHERE r.event = '${event}' ORDER BY r.seq`
    if (first) await d.con.run(`CREATE TABLE ev_${event} AS ${select}`)
    else await d.con.run(`INSERT INTO ev_${event} ${select}`)
  }
  const c = await d.con.runAndReadAll('SELECT count(*) FROM raw')
  n = Number(c.getRows()[0]?.[0])
  await d.con.run('DROP TABLE raw')
  return n
}

async function tableExists(d: Duck, name: string): Promise<boolean> {
  const r = await d.con.runAndReadAll(`SELECT count(*) FROM information_schema.tables WHERE table_name = '${name}'`)
  return Number(r.getRows()[0]?.[0]) > 0
}

/** Runs one label: its result table replaced, like a run's. Returns ms. */
export async function runDuckLabel(d: Duck, label: BenchLabel, asOf: Date): Promise<number> {
  const t = performance.now()
  await d.con.run(`CREATE OR REPLACE TABLE res_${label.id} AS ${label.duck(asOf)}`)
  return performance.now() - t
}

/** The same digest as the engine's (refresh-digest.ts), over DuckDB's result table. */
export async function duckDigest(d: Duck, label: BenchLabel): Promise<Digest> {
  const t = `res_${label.id}`
  const dt = label.def.dataType
  if (dt === 'number' || dt === 'date') {
    const v = dt === 'date' ? 'epoch_ms(value)::DOUBLE' : 'value'
    const r = await d.con.runAndReadAll(`SELECT count(*)::DOUBLE, coalesce(sum(${v}), 0)::DOUBLE FROM ${t}`)
    const [n, s] = (r.getRows()[0] ?? [0, 0]) as [number, number]
    return { rows: Number(n), sum: Number(s) }
  }
  const v = dt === 'collection' ? `array_to_string(value, '|')` : 'value::VARCHAR'
  const r = await d.con.runAndReadAll(`SELECT ${v} AS v, count(*)::INTEGER AS n FROM ${t} GROUP BY 1`)
  const counts: Record<string, number> = {}
  let rows = 0
  for (const [v0, n] of r.getRows()) {
    counts[String(v0)] = Number(n)
    rows += Number(n)
  }
  return { rows, counts }
}
