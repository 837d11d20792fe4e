import type { LabelVersion, RecordVersionInput, VersionSummary } from './api.ts'
import { xactLock, type SqlExecutor } from './sql-executor.ts'
import { diffDefinitions, isNewVersion, type DefinitionChange, type LabelDefinition } from '../shared/rule-diff.ts'

/**
 * Version history of label definitions: one row per change of a label's definition, numbered
 * 1, 2, 3… per label, with the full definition and the readable diff against the version
 * before it. Rows outlive their label (a deleted label's history stays readable by its id):
 * it is part of the audit trail, and deleteLabelData leaves it alone.
 */
export const labelVersionsDdl = `
CREATE TABLE IF NOT EXISTS label_versions (
  label_id text NOT NULL,
  n int NOT NULL,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('baseline','created','updated','restored','deleted')),
  via text NOT NULL,
  restored_from int,
  definition jsonb NOT NULL,
  changes jsonb NOT NULL,
  PRIMARY KEY (label_id, n)
);
`

/** Creates the label_versions table if missing; idempotent. */
export async function migrateLabelVersions(db: SqlExecutor): Promise<void> {
  await db.exec(labelVersionsDdl)
}

interface VersionRow {
  label_id: string
  n: number
  at: Date | string
  actor: string
  kind: LabelVersion['kind']
  via: string
  restored_from: number | null
  definition?: LabelDefinition | string
  changes: DefinitionChange[] | string
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v)

function summary(r: VersionRow): VersionSummary {
  return {
    n: Number(r.n),
    labelId: r.label_id,
    at: (r.at instanceof Date ? r.at : new Date(r.at)).toISOString(),
    actor: r.actor,
    kind: r.kind,
    via: r.via,
    ...(r.restored_from !== null ? { restoredFrom: Number(r.restored_from) } : {}),
    changes: json(r.changes),
  }
}

const columns = 'label_id, n, at, actor, kind, via, restored_from, changes'

/**
 * Records a change of a label as its next version, inside one transaction that holds a
 * per-label advisory lock (numbers never collide, even across servers on one PostgreSQL).
 * The diff is against the label's latest version (or `previous` when it has none yet);
 * nothing is recorded, and null returned, when no versioned field changed. A definition equal
 * to an earlier version's (not the latest) is recorded as `restored` from the newest such one.
 */
export async function recordVersion(db: SqlExecutor, input: RecordVersionInput): Promise<LabelVersion | null> {
  return db.transaction(async (tx) => {
    await xactLock(tx, `label_versions:${input.labelId}`)
    const last = await tx.query<{ n: number; definition: LabelDefinition | string; kind: string }>(
      `SELECT n, definition, kind FROM label_versions WHERE label_id = $1 ORDER BY n DESC LIMIT 1`,
      [input.labelId],
    )
    let latest = last.rows[0]
    const opts = input.groupNames ? { groupName: (id: string) => input.groupNames?.[id] ?? id } : {}
    if (!latest && input.previous && input.kind === 'updated') {
      // A label older than its history: its definition before this change becomes version 1.
      await insert(
        tx,
        {
          ...input,
          kind: 'baseline',
          actor: input.previousActor ?? 'unknown',
          via: 'baseline',
          at: input.previousAt ?? input.at,
          definition: input.previous,
        },
        1,
        null,
        diffDefinitions(null, input.previous, opts),
      )
      latest = { n: 1, definition: input.previous, kind: 'baseline' }
    }
    const n = latest ? Number(latest.n) + 1 : 1
    if (input.kind === 'baseline' && latest) return null
    let kind = input.kind
    let restoredFrom: number | null = null
    let changes: DefinitionChange[] = []
    if (kind === 'deleted') {
      if (!latest || latest.kind === 'deleted') return null
    } else {
      // No history yet, or a label back after its deletion (same id): every field is new.
      const before = latest && latest.kind !== 'deleted' ? json(latest.definition) : null
      if (before && kind !== 'baseline' && !isNewVersion(before, input.definition)) return null
      changes = diffDefinitions(before && kind !== 'baseline' ? before : null, input.definition, opts)
      if (before && kind !== 'baseline') kind = 'updated'
      if (kind === 'updated' && latest) {
        const earlier = await tx.query<{ n: number; definition: LabelDefinition | string }>(
          `SELECT n, definition FROM label_versions WHERE label_id = $1 AND n < $2 AND kind <> 'deleted' ORDER BY n DESC`,
          [input.labelId, latest.n],
        )
        const same = earlier.rows.find((r) => !isNewVersion(json(r.definition), input.definition))
        if (same) (kind = 'restored'), (restoredFrom = Number(same.n))
      }
    }
    return insert(tx, { ...input, kind }, n, restoredFrom, changes)
  })
}

async function insert(
  tx: SqlExecutor,
  input: RecordVersionInput,
  n: number,
  restoredFrom: number | null,
  changes: DefinitionChange[],
): Promise<LabelVersion> {
  const r = await tx.query<VersionRow>(
    `INSERT INTO label_versions (label_id, n, at, actor, kind, via, restored_from, definition, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)
     RETURNING ${columns}, definition`,
    [
      input.labelId,
      n,
      input.at,
      input.actor,
      input.kind,
      input.via,
      restoredFrom,
      JSON.stringify(input.definition),
      JSON.stringify(changes),
    ],
  )
  const row = r.rows[0]!
  return { ...summary(row), definition: json(row.definition!) }
}

/** A label's versions, newest first (at most `limit`, default 500). */
export async function listVersions(db: SqlExecutor, labelId: string, limit = 500): Promise<VersionSummary[]> {
  const r = await db.query<VersionRow>(
    `SELECT ${columns} FROM label_versions WHERE label_id = $1 ORDER BY n DESC LIMIT $2`,
    [labelId, limit],
  )
  return r.rows.map(summary)
}

/** One version with its full definition, or null. */
export async function getVersion(db: SqlExecutor, labelId: string, n: number): Promise<LabelVersion | null> {
  const r = await db.query<VersionRow>(
    `SELECT ${columns}, definition FROM label_versions WHERE label_id = $1 AND n = $2`,
    [labelId, n],
  )
  const row = r.rows[0]
  return row ? { ...summary(row), definition: json(row.definition!) } : null
}

/** Of these labels, those that have at least one version (to start the history of older labels). */
export async function labelsWithVersions(db: SqlExecutor, labelIds: string[]): Promise<string[]> {
  if (labelIds.length === 0) return []
  const r = await db.query<{ label_id: string }>(
    `SELECT DISTINCT label_id FROM label_versions WHERE label_id = ANY($1::text[])`,
    [labelIds],
  )
  return r.rows.map((x) => x.label_id)
}
