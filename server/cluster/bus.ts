import { createHash, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import pg from 'pg'
import { openPostgres } from '../../engine/adapters/pg.ts'
import { withXactLock, type SqlExecutor } from '../../engine/sql-executor.ts'

/**
 * A message between the server processes sharing one PostgreSQL database. `type` routes it;
 * the rest is JSON. `from` is the sending node (a process sees its own messages too and skips them).
 */
export interface ClusterMessage {
  type: string
  from: string
  [field: string]: unknown
}

/** NOTIFY's payload limit is 8000 bytes; past this a message goes through a `cluster_messages` row. */
export const NOTIFY_MAX_BYTES = 7900

const DDL = `
CREATE TABLE IF NOT EXISTS cluster_messages (
  id bigserial PRIMARY KEY,
  payload text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS cluster_nodes (
  node_id text PRIMARY KEY,
  pid int NOT NULL,
  host text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
-- Which node executes each queued or running run (server/cluster/run-claims.ts).
CREATE TABLE IF NOT EXISTS cluster_runs (
  run_id text PRIMARY KEY,
  node_id text NOT NULL,
  label_id text NOT NULL
);
`

export interface ClusterBusOptions {
  /** A node dead for this long (no heartbeat) is dead for good: its runs are taken over. Default 15 s. */
  leaseMs?: number
  /** First reconnect delay after the listening connection is lost (doubles up to 5 s). Default 100 ms. */
  reconnectMs?: number
  log?: (level: 'info' | 'warn' | 'error', msg: string, err?: unknown) => void
}

type Handler = (msg: ClusterMessage) => void | Promise<void>

/** `application_name` of a node's listening connection: other nodes see it in pg_stat_activity while it lives. */
export const nodeAppName = (nodeId: string) => `labels-node-${nodeId}`

/**
 * The cluster bus (issue 11): several `npm start` processes on one PostgreSQL database talk
 * through PostgreSQL itself, with no other server. Each process is a node with a random id:
 *
 * - one dedicated connection LISTENs on a channel named after the database and schema (tests
 *   sharing a database in separate schemas never hear each other); its `application_name` is
 *   `labels-node-<id>`, so while the process lives other nodes see it in `pg_stat_activity`;
 * - `publish` sends a typed JSON message with `pg_notify`, optionally inside the caller's
 *   transaction (delivered only if it commits, in commit order). A message over NOTIFY's
 *   8000-byte limit is written to a `cluster_messages` row and the notification names the row;
 *   receivers read it (rows are deleted after 10 minutes);
 * - messages are handled one at a time, in the order they arrived;
 * - the node row in `cluster_nodes` is refreshed every `leaseMs / 3`;
 * - a lost listening connection is re-opened with backoff; notifications sent meanwhile are
 *   lost, so `onReconnect` listeners re-read what they mirror (documents, read model).
 */
export class ClusterBus {
  readonly nodeId = randomBytes(6).toString('hex')
  readonly leaseMs: number
  private readonly handlers = new Map<string, Set<Handler>>()
  private readonly reconnectListeners = new Set<() => void>()
  private client: pg.Client | null = null
  private chain: Promise<void> = Promise.resolve()
  /** Publishes without a transaction, in call order. */
  private sending: Promise<void> = Promise.resolve()
  private closed = false
  private heartbeat: ReturnType<typeof setInterval> | null = null
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private reconnectDelay: number
  /** Messages received (own ones included) and reconnects, for diagnostics and tests. */
  readonly stats = { received: 0, sent: 0, viaTable: 0, reconnects: 0 }

  private constructor(
    readonly url: string,
    readonly db: SqlExecutor,
    readonly channel: string,
    private readonly opts: ClusterBusOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 15_000
    this.reconnectDelay = opts.reconnectMs ?? 100
  }

  /** Connects (a small pool for publishing and the cluster tables, one listening connection). */
  static async open(url: string, opts: ClusterBusOptions = {}): Promise<ClusterBus> {
    const db = await openPostgres(url, { max: 3 })
    try {
      const where = await db.query<{ d: string; s: string }>('SELECT current_database() AS d, current_schema() AS s')
      const w = where.rows[0]!
      const channel = `labels_${createHash('sha256').update(`${w.d}.${w.s}`).digest('hex').slice(0, 16)}`
      // Serialised: several processes starting at once would race on CREATE TABLE IF NOT EXISTS.
      await withXactLock(db, 'labels-cluster-ddl', (tx) => tx.exec(DDL))
      const bus = new ClusterBus(url, db, channel, opts)
      await bus.beat()
      await bus.connect()
      bus.heartbeat = setInterval(() => void bus.beat().catch(() => {}), Math.max(200, bus.leaseMs / 3))
      bus.heartbeat.unref?.()
      return bus
    } catch (e) {
      await db.close().catch(() => {})
      throw e
    }
  }

  /** Handles messages of this type from other nodes (never this node's own). */
  on(type: string, handler: Handler): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(handler)
    return () => set.delete(handler)
  }

  /** Called after the listening connection came back: messages may have been missed. */
  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn)
    return () => this.reconnectListeners.delete(fn)
  }

  /**
   * Sends a message to every node (this one skips it). With `tx`, inside that transaction:
   * sent only if it commits. Resolves once PostgreSQL accepted it.
   */
  publish(message: { type: string; [field: string]: unknown }, tx?: SqlExecutor): Promise<void> {
    if (this.closed) return Promise.resolve()
    if (tx) return this.send(message, tx)
    // Without a transaction, one at a time: on a pool, two sends in a row (queued, then running)
    // could otherwise commit in either order and a run's status go backwards elsewhere.
    const sent = this.sending.then(() => this.send(message, this.db))
    this.sending = sent.catch(() => {})
    return sent
  }

  private async send(message: { type: string; [field: string]: unknown }, db: SqlExecutor): Promise<void> {
    const text = JSON.stringify({ ...message, from: this.nodeId })
    let payload = text
    if (Buffer.byteLength(text) > NOTIFY_MAX_BYTES) {
      const r = await db.query<{ id: number }>('INSERT INTO cluster_messages (payload) VALUES ($1) RETURNING id', [
        text,
      ])
      payload = JSON.stringify({ ref: Number(r.rows[0]!.id), from: this.nodeId })
      this.stats.viaTable++
    }
    await db.query('SELECT pg_notify($1, $2)', [this.channel, payload])
    this.stats.sent++
  }

  /** Node ids whose process is gone: no listening connection in pg_stat_activity, or no heartbeat for leaseMs. */
  async deadNodes(): Promise<string[]> {
    const r = await this.db.query<{ node_id: string }>(
      `SELECT node_id FROM cluster_nodes n
        WHERE n.node_id <> $1 AND (n.heartbeat_at < now() - make_interval(secs => $2)
           OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'labels-node-' || n.node_id))`,
      [this.nodeId, this.leaseMs / 1000],
    )
    return r.rows.map((x) => x.node_id)
  }

  /** Stops listening and heartbeating and removes this node's row (its runs are taken over at once). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    const c = this.client
    this.client = null
    await c?.end().catch(() => {})
    await this.chain.catch(() => {})
    await this.db.query('DELETE FROM cluster_nodes WHERE node_id = $1', [this.nodeId]).catch(() => {})
    await this.db.close().catch(() => {})
  }

  /** Test hook: drops the listening connection as a network failure would. */
  dropConnectionForTest(): void {
    this.client?.emit('error', new Error('dropped by a test'))
  }

  private async beat(): Promise<void> {
    await this.db.query(
      `INSERT INTO cluster_nodes (node_id, pid, host) VALUES ($1, $2, $3)
       ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()`,
      [this.nodeId, process.pid, hostname()],
    )
    // Any node may clean up: big messages are read within moments of being sent.
    if (Math.random() < 0.05) {
      await this.db.query(`DELETE FROM cluster_messages WHERE at < now() - interval '10 minutes'`)
      await this.db.query(`DELETE FROM cluster_nodes WHERE heartbeat_at < now() - interval '1 day'`)
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: nodeAppName(this.nodeId) })
    let lost = false
    const onLost = (e: unknown) => {
      if (lost) return
      lost = true
      if (this.client === client) this.client = null
      client.end().catch(() => {})
      if (this.closed) return
      this.opts.log?.('warn', 'cluster bus: listening connection lost; reconnecting', e)
      this.scheduleReconnect()
    }
    client.on('error', onLost)
    client.on('end', () => onLost(new Error('connection ended')))
    client.on('notification', (n) => {
      if (n.channel !== this.channel || n.payload === undefined) return
      const payload = n.payload
      this.chain = this.chain
        .then(() => this.deliver(payload))
        .catch((e: unknown) => {
          this.opts.log?.('error', 'cluster bus: a message handler failed', e)
        })
    })
    await client.connect()
    // A quoted identifier: the channel is [a-z0-9_] anyway.
    await client.query(`LISTEN "${this.channel}"`)
    this.client = client
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = null
      try {
        await this.connect()
        this.reconnectDelay = this.opts.reconnectMs ?? 100
        this.stats.reconnects++
        this.opts.log?.('info', 'cluster bus: reconnected')
        for (const fn of this.reconnectListeners) {
          try {
            fn()
          } catch (e) {
            this.opts.log?.('error', 'cluster bus: a reconnect listener failed', e)
          }
        }
      } catch (e) {
        this.opts.log?.('warn', 'cluster bus: reconnect failed; retrying', e)
        this.reconnectDelay = Math.min(5000, this.reconnectDelay * 2)
        this.scheduleReconnect()
      }
    }, this.reconnectDelay)
    this.reconnectTimer.unref?.()
  }

  private async deliver(payload: string): Promise<void> {
    let msg = JSON.parse(payload) as ClusterMessage & { ref?: number }
    if (msg.from === this.nodeId) return
    if (typeof msg.ref === 'number') {
      const r = await this.db.query<{ payload: string }>('SELECT payload FROM cluster_messages WHERE id = $1', [
        msg.ref,
      ])
      if (!r.rows[0]) {
        this.opts.log?.('warn', `cluster bus: message row ${msg.ref} is gone; treating it as a missed message`)
        for (const fn of this.reconnectListeners) fn()
        return
      }
      msg = JSON.parse(r.rows[0].payload) as ClusterMessage
    }
    this.stats.received++
    for (const h of this.handlers.get(msg.type) ?? []) await h(msg)
  }
}
