import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { GroupCreate, GroupPatch } from '../../shared/schemas/group.ts'
import { errors, GroupOut } from '../http/wire-schemas.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

const GroupParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

/** Group tree operations; each is one shared document operation, seen live by every editor. */
export default async function groupRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/groups',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The group tree',
        response: { 200: Type.Object({ groups: Type.Array(GroupOut) }), ...errors(403) },
      },
    },
    async () => ({ groups: app.workspace.groupTree() }),
  )

  app.post(
    '/api/groups',
    {
      config: { role: 'editor', audit: 'group.create' },
      schema: {
        summary: 'Create a group (first level, or under a first-level custom group)',
        body: GroupCreate,
        response: { 201: GroupOut, ...errors(400, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const group = app.workspace.createGroup(req.body, req.operator!.name)
      await app.workspace.flushed()
      req.auditDetails = { id: group.id, name: group.name }
      return reply.status(201).send(group)
    },
  )

  app.patch(
    '/api/groups/:id',
    {
      config: { role: 'editor', audit: 'group.update' },
      schema: {
        summary: 'Rename, move or reorder a group',
        params: GroupParams,
        body: GroupPatch,
        response: { 200: GroupOut, ...errors(400, 403, 404, 409) },
      },
    },
    async (req) => {
      const group = app.workspace.updateGroup(req.params.id, req.body, req.operator!.name)
      await app.workspace.flushed()
      return group
    },
  )

  app.delete(
    '/api/groups/:id',
    {
      config: { role: 'editor', audit: 'group.delete' },
      schema: {
        summary: 'Delete a group; its labels move to Default',
        params: GroupParams,
        response: { 204: Type.Null(), ...errors(403, 404, 409) },
      },
    },
    async (req, reply) => {
      app.workspace.deleteGroup(req.params.id, req.operator!.name)
      await app.workspace.flushed()
      return reply.status(204).send(null)
    },
  )
}
