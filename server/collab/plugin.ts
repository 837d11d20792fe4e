import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import websocket from '@fastify/websocket'
import type { WebSocket } from 'ws'
import { CollabClose, COLLAB_MAX_MESSAGE_BYTES } from '../../shared/doc/index.ts'
import { selectProtocol, tokenFromProtocols } from '../../shared/ws-protocol.ts'
import { originAllowed } from '../http/origin.ts'
import { queryValue } from '../http/request-path.ts'
import { CollabConnection, defaultLimits, type CollabUser, type ConnectionLimits } from './connection.ts'
import { isWorkspaceId, type DocLease, type DocRegistry } from './doc-registry.ts'

/**
 * Options of the collab endpoint (Hocuspocus-style hooks):
 *  - authenticate(token): who connects, or null → closed with 4401 before any document loads.
 *    The token comes from `?token=` or the `labels.token.<base64url>` subprotocol (the web
 *    app's way, shared/ws-protocol.ts). The user returned is read again at every frame: a
 *    role lowered in place applies to the next write, a user marked `revoked` is closed (4401);
 *  - registry: the shared DocRegistry (REST routes use the same one; its owner closes it),
 *    decorated as `app.collab`.
 */
export interface CollabPluginOptions {
  authenticate(token: string): CollabUser | null | Promise<CollabUser | null>
  registry: DocRegistry
  /**
   * Which workspaces may be opened (Hocuspocus "load" gate), checked before any document loads;
   * false closes with 4404. Default: any well-formed id. Each connection leases its document:
   * once the last one closes, the registry unloads it after its grace period (unless pinned).
   */
  allowWorkspace?(workspace: string, user: CollabUser): boolean | Promise<boolean>
  limits?: Partial<ConnectionLimits>
  /** Ping interval; sockets that miss a pong are dropped (default 30 s). */
  pingMs?: number
  /**
   * Origins besides the server's own whose pages may connect (server/http/origin.ts): an upgrade from
   * another page is refused with 403 before the token is read. Default: same origin, or no Origin.
   */
  allowedOrigins?: readonly string[]
  /**
   * Subscribes to changes of the users `authenticate` hands out (returns the unsubscribe): at each,
   * sockets whose user is now `revoked` close at once (4401), idle ones too.
   */
  onUsersChanged?(fn: () => void): () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    collab: DocRegistry
    collabStats: CollabStats
  }
}

/** Open connections, refusals, and documents in memory / unloaded so far, for tests and metrics. */
export interface CollabStats {
  connections: number
  refusedAuth: number
  /** Upgrades refused for their Origin (before the token was read). */
  refusedOrigin: number
  closedMalformed: number
  documents: number
  unloadedDocuments: number
}

/**
 * Serves `ws://HOST:PORT/collab/:workspace?token=T` with the y-websocket protocol, so the stock
 * `y-websocket` WebsocketProvider connects (serverUrl `ws://HOST:PORT/collab`, room = workspace,
 * params {token}, or protocols ['labels.v1', 'labels.token.…'] to keep the token out of the
 * URL). Registers @fastify/websocket itself unless the app already has it (the app's must
 * then use `selectProtocol` as its handleProtocols).
 */
export async function collabPlugin(app: FastifyInstance, opts: CollabPluginOptions): Promise<void> {
  const limits: ConnectionLimits = { ...defaultLimits, ...opts.limits }
  const registry = opts.registry
  if (!app.hasDecorator('collab')) app.decorate('collab', registry)
  if (!app.hasDecorator('websocketServer')) {
    // Frames up to twice the limit reach our check (and a 4413 the client won't retry);
    // beyond that ws itself cuts the socket, so memory per frame stays bounded.
    await app.register(websocket, {
      options: {
        maxPayload: 2 * (opts.limits?.maxMessageBytes ?? COLLAB_MAX_MESSAGE_BYTES),
        handleProtocols: selectProtocol,
      },
    })
  }
  const users = new WeakMap<FastifyRequest, CollabUser | null>()
  const connections = new Set<CollabConnection>()
  const stats = { refusedAuth: 0, refusedOrigin: 0, closedMalformed: 0 }
  app.decorate('collabStats', {
    getter: (): CollabStats => {
      const docs = registry.stats()
      return { ...stats, connections: connections.size, documents: docs.loaded, unloadedDocuments: docs.unloaded }
    },
  })

  // Before the token: a foreign page is refused whatever it holds (also when this plugin is used alone).
  const allowedOrigins = opts.allowedOrigins ?? []
  const originCheck = async (req: FastifyRequest, reply: FastifyReply) => {
    if (originAllowed(req.headers.origin, req.headers.host, allowedOrigins)) return
    stats.refusedOrigin++
    return reply.code(403).send({
      error: {
        code: 'forbidden',
        message: `WebSocket connections from ${req.headers.origin} are not allowed (same origin only; see LABELS_ALLOWED_ORIGINS)`,
      },
    })
  }

  /** Each open socket's check of its user: closes it (4401) once the user is revoked. */
  const revocationChecks = new Set<() => void>()
  const closeRevoked = () => {
    for (const check of revocationChecks) check()
  }
  const unsubscribe = opts.onUsersChanged?.(closeRevoked)

  const authenticate = async (req: FastifyRequest) => {
    const query = queryValue(req, 'token')
    const token = typeof query === 'string' ? query : tokenFromProtocols(req.headers['sec-websocket-protocol'])
    let user: CollabUser | null = null
    if (typeof token === 'string' && token.length > 0 && token.length <= 1024) {
      try {
        user = await opts.authenticate(token)
      } catch (err) {
        app.log.warn({ err }, 'collab authenticate hook threw; refusing')
      }
    }
    users.set(req, user)
  }

  const handler = (socket: WebSocket, req: FastifyRequest<{ Params: { workspace?: string } }>) => {
    const user = users.get(req) ?? null
    const workspace = req.params.workspace ?? ''
    if (!user) {
      stats.refusedAuth++
      socket.close(CollabClose.unauthorized, 'unauthorized') // no listeners, no document
      return
    }
    if (!isWorkspaceId(workspace)) return socket.close(CollabClose.notFound, 'bad workspace')
    // Frames can arrive while the document loads: hold a bounded backlog, then replay it.
    const backlog: Array<[Uint8Array, boolean]> = []
    let backlogBytes = 0
    let conn: CollabConnection | null = null
    let stop: (() => void) | null = null
    let lease: DocLease | null = null
    const onFrame = (data: Uint8Array, isBinary: boolean) => {
      if (user.revoked) return refuseRevoked()
      if (!conn) {
        backlogBytes += data.byteLength
        if (backlog.length >= 64 || backlogBytes > 2 * limits.maxMessageBytes)
          return socket.close(CollabClose.tooLarge, 'too much before sync')
        return void backlog.push([data, isBinary])
      }
      const code = conn.receive(data, isBinary)
      if (code !== null) {
        if (code === CollabClose.malformed) stats.closedMalformed++
        conn.close(code, code === CollabClose.tooLarge ? 'message too large' : 'malformed message')
      }
    }
    const refuseRevoked = () => {
      stats.refusedAuth++
      if (conn) conn.close(CollabClose.unauthorized, 'token withdrawn')
      else socket.close(CollabClose.unauthorized, 'token withdrawn')
    }
    const revocationCheck = () => {
      if (user.revoked) refuseRevoked()
    }
    revocationChecks.add(revocationCheck)
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => onFrame(toBytes(data), isBinary))
    socket.on('pong', () => conn && (conn.alive = true))
    socket.on('close', () => {
      revocationChecks.delete(revocationCheck)
      stop?.()
      if (conn) connections.delete(conn)
      lease?.release() // after unsubscribing: the document is idle once the last socket is gone
    })
    Promise.resolve(opts.allowWorkspace ? opts.allowWorkspace(workspace, user) : true)
      .then((ok) => {
        if (!ok)
          throw Object.assign(new Error(`workspace ${workspace} not allowed`), { closeCode: CollabClose.notFound })
        return registry.acquire(workspace)
      })
      .then(
        (held: DocLease) => {
          if (socket.readyState !== socket.OPEN) return held.release()
          lease = held
          conn = new CollabConnection(socket, held.live, user, limits)
          connections.add(conn)
          stop = conn.start()
          for (const [d, b] of backlog.splice(0)) onFrame(d, b)
        },
        (err: unknown) => {
          const code = (err as { closeCode?: number }).closeCode
          if (code !== undefined) return socket.close(code, 'no such workspace')
          app.log.error({ err, workspace }, 'collab document unavailable')
          socket.close(CollabClose.unavailable, 'document unavailable')
        },
      )
  }

  app.get<{ Params: { workspace?: string } }>(
    '/collab/:workspace',
    // It checks Origin itself (and counts refusals): the app's auth plugin leaves that to it.
    { websocket: true, config: { checksOrigin: true }, onRequest: originCheck, preValidation: authenticate },
    handler,
  )

  // Without onUsersChanged, idle sockets whose user was revoked close within a ping interval.
  const ping = setInterval(() => {
    closeRevoked()
    for (const c of connections) c.ping()
  }, opts.pingMs ?? 30_000)
  ping.unref()

  app.addHook('preClose', async () => {
    unsubscribe?.()
    clearInterval(ping)
    for (const c of connections) c.close(CollabClose.goingAway, 'server shutting down')
  })
}
;(collabPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true // fastify-plugin style

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
