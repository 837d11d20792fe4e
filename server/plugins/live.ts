import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LiveHub, parseClientMessage } from '../live/live-hub.ts'
import '../types.ts'

const MAX_MESSAGE_BYTES = 64 * 1024

/** The live channel GET /api/live (WebSocket, auth at upgrade via the auth hook). */
export default fp(
  async function livePlugin(app: FastifyInstance) {
    const hub = new LiveHub()
    app.decorate('live', hub)
    app.get('/api/live', { websocket: true, config: { role: 'viewer' }, schema: { hide: true } }, (socket) => {
      hub.add(socket)
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary || data.length > MAX_MESSAGE_BYTES) return socket.send(JSON.stringify({ type: 'error', message: 'send JSON text messages up to 64 KiB' }))
        const msg = parseClientMessage(data.toString('utf8'))
        if ('error' in msg) return socket.send(JSON.stringify({ type: 'error', message: msg.error }))
        // `label:NAME` is accepted like `label:ID`, as `:label` is in the HTTP routes.
        const byId = msg.topics.map((t) => {
          if (!t.startsWith('label:') || t === 'label:*' || !app.hasDecorator('workspace')) return t
          const label = app.workspace.findLabel(t.slice('label:'.length))
          return label ? `label:${label.id}` : t
        })
        hub.subscribe(socket, byId)
        socket.send(JSON.stringify({ type: 'subscribed', topics: msg.topics }))
      })
      socket.on('close', () => hub.remove(socket))
      socket.on('error', () => hub.remove(socket))
    })
  },
  { name: 'live', dependencies: ['auth'] },
)
