import { MessageChannel } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { afterAll, describe, expect, it } from 'vitest'
import { LabelsError } from '../../shared/errors.ts'
import { errorFromWire, errorToWire, registerErrorTransport } from '../../shared/worker-errors.ts'

// Both ends of a real MessageChannel, as between a thread and its worker (structured clone and
// all); Comlink's handler registry is per process, so one registration serves both ends here.
registerErrorTransport()
const { port1, port2 } = new MessageChannel()
const api = {
  refuse(): never {
    throw new LabelsError('invalid', 'unknown event "nope"', '/rule/event', { known: ['buy'] })
  },
  async refuseLater(): Promise<never> {
    throw new LabelsError('too_large', 'row 3 is too long', '/3', { row: 3, limit: 10 })
  },
  database(): never {
    throw Object.assign(new Error('duplicate key value violates unique constraint "users_pkey"'), {
      code: '23505',
      severity: 'ERROR',
    })
  },
  unclonable(): never {
    throw new LabelsError('invalid', 'odd details', '/x', { fn: () => 1, n: 1 })
  },
  thrownString(): never {
    throw 'plain words' // eslint-disable-line no-throw-literal
  },
  giveBack(e: LabelsError): { isLabelsError: boolean; code: string } {
    return { isLabelsError: e instanceof LabelsError, code: e.code }
  },
  returned(): LabelsError {
    return new LabelsError('conflict', 'name taken', '/name')
  },
  fine: (n: number) => n + 1,
}
Comlink.expose(api, nodeEndpoint(port1))
const remote = Comlink.wrap<typeof api>(nodeEndpoint(port2))
afterAll(() => {
  port1.close()
  port2.close()
})

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('resolved')
    },
    (e: unknown) => e,
  )

describe('the labels-error transfer handler', () => {
  it('keeps a thrown LabelsError a LabelsError, with its code, status, path and details', async () => {
    const e = await caught(remote.refuse())
    expect(e).toBeInstanceOf(LabelsError)
    expect(e).toMatchObject({
      code: 'invalid',
      status: 422,
      path: '/rule/event',
      message: 'unknown event "nope"',
      details: { known: ['buy'] },
    })
    expect(await caught(remote.refuseLater())).toMatchObject({
      code: 'too_large',
      status: 413,
      path: '/3',
      details: { row: 3, limit: 10 },
    })
  })

  it("keeps another error's name, message and string code (SQLSTATE)", async () => {
    const e = await caught(remote.database())
    expect(e).toBeInstanceOf(Error)
    expect(e).not.toBeInstanceOf(LabelsError)
    expect(e).toMatchObject({ message: expect.stringContaining('users_pkey'), code: '23505' })
  })

  it('sends what it can of details that the structured clone refuses, and a thrown non-Error as an Error', async () => {
    const e = await caught(remote.unclonable())
    expect(e).toMatchObject({ code: 'invalid', details: { n: 1 } })
    expect(await caught(remote.thrownString())).toMatchObject({ message: 'plain words' })
  })

  it('carries a LabelsError passed as an argument or returned as a value', async () => {
    expect(await remote.giveBack(new LabelsError('not_found', 'gone'))).toEqual({
      isLabelsError: true,
      code: 'not_found',
    })
    const r = await remote.returned()
    expect(r).toBeInstanceOf(LabelsError)
    expect(r).toMatchObject({ code: 'conflict', path: '/name' })
    expect(await remote.fine(1)).toBe(2)
  })

  it('is registered once, ahead of Comlink’s own throw handler', () => {
    registerErrorTransport()
    const names = [...Comlink.transferHandlers.keys()]
    expect(names.filter((n) => n === 'labels-error')).toHaveLength(1)
    expect(names.indexOf('labels-error')).toBeLessThan(names.indexOf('throw'))
  })

  it('round-trips the wire form', () => {
    const back = errorFromWire(errorToWire(new LabelsError('timeout', 'slow', undefined, { ms: 20 })))
    expect(back).toBeInstanceOf(LabelsError)
    expect(back).toMatchObject({ code: 'timeout', status: 504, path: undefined, details: { ms: 20 } })
    // A name that claims LabelsError with an unknown code is an ordinary error (a 500), never a made-up status.
    expect(errorFromWire({ name: 'LabelsError', message: 'x', code: 'teapot' })).not.toBeInstanceOf(LabelsError)
  })
})
