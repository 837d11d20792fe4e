import { resolve } from 'node:path'
import { assertTimeZone } from '../shared/schedule-tz.ts'
import { DEFAULT_AUDIT_KEEP, DEFAULT_AUDIT_MAX_BYTES } from './audit/audit-log.ts'
import { DEFAULT_UNLOAD_AFTER_MS } from './collab/doc-registry.ts'
import { DEFAULT_RELAY_HOLD_MS } from './collab/live-doc.ts'
import { normalOrigin } from './http/origin.ts'
import type { ResultWrites } from '../engine/calc/result-swap.ts'
import type { Incremental } from '../engine/calc/incremental.ts'
import { ENGINE_PG_SETTINGS, parsePgSettings } from '../engine/adapters/pg.ts'

/** The environment (docs/api.md#configuration), parsed once at start. */
export interface ServerConfig {
  port: number
  host: string
  dataDir: string
  databaseUrl: string | undefined
  tokens: string | undefined
  /** LABELS_TOKENS_FILE: tokens read from this file and re-read when it changes or on SIGHUP. */
  tokensFile: string | undefined
  /** LABELS_ALLOWED_ORIGINS: origins besides the server's own whose pages may open WebSockets. */
  allowedOrigins: string[]
  tz: string
  demo: boolean
  demoUsers: number
  /** A collaborative document nobody is connected to is unloaded after this long (pinned ones never). */
  collabUnloadMs: number
  /** The audit log is rotated before it would grow past this size... */
  auditMaxBytes: number
  /** ... keeping this many rotated files (audit.1.jsonl newest). */
  auditKeep: number
  /**
   * With DATABASE_URL: a process that has stopped answering for this long is dead, and its runs are
   * taken over by another (server/cluster). A killed process is noticed at once (its connection closes).
   */
  clusterLeaseMs: number
  /** Runs one process executes at once (PostgreSQL; PGlite always 1). */
  calcConcurrency: number
  /**
   * How a run stores its results: `swap` (a new table), `changed` (only the customers whose value
   * changed, in place) or `auto` (default: in place when the label's last run changed few customers).
   */
  resultWrites: ResultWrites
  /**
   * LABELS_INCREMENTAL (on|off|always, default on): a label's next run computes only the customers
   * whose data or windows changed; `on` not for a label whose last such run took longer than a
   * full one, `always` regardless.
   */
  incremental: Incremental
  /**
   * LABELS_SLOW_STATEMENT_MS (default 1000): a run's statement at least this long is compared with
   * the label's previous run, and its plan kept when it took ten times its phase there.
   */
  slowStatementMs: number
  /** LABELS_COLLAB_RELAY_HOLD_MS: the longest a stored update waits to be relayed with the next ones (many sockets). */
  collabRelayHoldMs: number
  /** LABELS_PG_SETTINGS: settings of the engine's connections to DATABASE_URL (default jit=off; {} = the server's). */
  pgSettings: Record<string, string>
}

function resultWrites(v: string | undefined): ResultWrites {
  if (v === undefined || v === '') return 'auto'
  if (v === 'swap' || v === 'changed' || v === 'auto') return v
  throw new Error(`LABELS_RESULT_WRITES=${v} is not swap, changed or auto`)
}

function incremental(v: string | undefined): Incremental {
  if (v === 'always') return 'always'
  if (v === undefined || v === '' || v === 'on' || v === 'off') return v !== 'off'
  throw new Error(`LABELS_INCREMENTAL=${v} is not on, off or always`)
}

function int(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${v} is not an integer in [${min}, ${max}]`)
  return n
}

/**
 * Reads PORT, HOST, LABELS_DATA_DIR, DATABASE_URL, LABELS_TOKENS, LABELS_TZ, LABELS_DEMO, LABELS_DEMO_USERS,
 * LABELS_COLLAB_UNLOAD_MS, LABELS_AUDIT_MAX_BYTES, LABELS_AUDIT_KEEP, LABELS_TOKENS_FILE,
 * LABELS_ALLOWED_ORIGINS, LABELS_CLUSTER_LEASE_MS, LABELS_CALC_CONCURRENCY, LABELS_RESULT_WRITES, LABELS_INCREMENTAL,
 * LABELS_SLOW_STATEMENT_MS, LABELS_COLLAB_RELAY_HOLD_MS, LABELS_PG_SETTINGS.
 */
export function readConfig(env: NodeJS.ProcessEnv): ServerConfig {
  if (env.LABELS_TOKENS && env.LABELS_TOKENS_FILE) throw new Error('set LABELS_TOKENS or LABELS_TOKENS_FILE, not both')
  const tz = env.LABELS_TZ || 'UTC'
  assertTimeZone(tz)
  return {
    port: int('PORT', env.PORT, 8787, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.LABELS_DATA_DIR || './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    tokens: env.LABELS_TOKENS || undefined,
    tokensFile: env.LABELS_TOKENS_FILE ? resolve(env.LABELS_TOKENS_FILE) : undefined,
    allowedOrigins: (env.LABELS_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
      .map(normalOrigin),
    tz,
    demo: !['0', 'false', 'no', 'off'].includes((env.LABELS_DEMO ?? '1').toLowerCase()),
    demoUsers: int('LABELS_DEMO_USERS', env.LABELS_DEMO_USERS, 20_000, 10, 5_000_000),
    collabUnloadMs: int(
      'LABELS_COLLAB_UNLOAD_MS',
      env.LABELS_COLLAB_UNLOAD_MS,
      DEFAULT_UNLOAD_AFTER_MS,
      0,
      24 * 3_600_000,
    ),
    auditMaxBytes: int(
      'LABELS_AUDIT_MAX_BYTES',
      env.LABELS_AUDIT_MAX_BYTES,
      DEFAULT_AUDIT_MAX_BYTES,
      4096,
      Number.MAX_SAFE_INTEGER,
    ),
    auditKeep: int('LABELS_AUDIT_KEEP', env.LABELS_AUDIT_KEEP, DEFAULT_AUDIT_KEEP, 1, 1000),
    clusterLeaseMs: int('LABELS_CLUSTER_LEASE_MS', env.LABELS_CLUSTER_LEASE_MS, 15_000, 1_000, 3_600_000),
    calcConcurrency: int('LABELS_CALC_CONCURRENCY', env.LABELS_CALC_CONCURRENCY, 3, 1, 64),
    resultWrites: resultWrites(env.LABELS_RESULT_WRITES),
    incremental: incremental(env.LABELS_INCREMENTAL),
    slowStatementMs: int('LABELS_SLOW_STATEMENT_MS', env.LABELS_SLOW_STATEMENT_MS, 1000, 1, 86_400_000),
    collabRelayHoldMs: int(
      'LABELS_COLLAB_RELAY_HOLD_MS',
      env.LABELS_COLLAB_RELAY_HOLD_MS,
      DEFAULT_RELAY_HOLD_MS,
      0,
      1000,
    ),
    pgSettings: parsePgSettings(env.LABELS_PG_SETTINGS ?? ENGINE_PG_SETTINGS),
  }
}
