import { describe, expect, it } from 'vitest'
import { readConfig } from '../../server/config.ts'

describe('readConfig', () => {
  it('LABELS_PG_SETTINGS: jit=off by default, "server" keeps the server\'s, anything else not name=value refused by name', () => {
    expect(readConfig({}).pgSettings).toEqual({ jit: 'off' })
    expect(readConfig({ LABELS_PG_SETTINGS: 'server' }).pgSettings).toEqual({})
    expect(readConfig({ LABELS_PG_SETTINGS: 'jit=on, work_mem=64MB' }).pgSettings).toEqual({
      jit: 'on',
      work_mem: '64MB',
    })
    expect(() => readConfig({ LABELS_PG_SETTINGS: 'jit' })).toThrow(/LABELS_PG_SETTINGS: "jit" is not name=value/)
    expect(() => readConfig({ LABELS_PG_SETTINGS: "jit=off' -c x=1" })).toThrow(/LABELS_PG_SETTINGS/)
  })

  it('LABELS_RESULT_WRITES: auto by default, swap or changed on request, anything else refused by name', () => {
    expect(readConfig({}).resultWrites).toBe('auto')
    expect(readConfig({ LABELS_RESULT_WRITES: 'changed' }).resultWrites).toBe('changed')
    expect(readConfig({ LABELS_RESULT_WRITES: 'swap' }).resultWrites).toBe('swap')
    expect(readConfig({ LABELS_RESULT_WRITES: 'auto' }).resultWrites).toBe('auto')
    expect(() => readConfig({ LABELS_RESULT_WRITES: 'diff' })).toThrow(
      /LABELS_RESULT_WRITES=diff is not swap, changed or auto/,
    )
  })

  it('LABELS_INCREMENTAL: on by default, off or always on request, anything else refused by name', () => {
    expect(readConfig({}).incremental).toBe(true)
    expect(readConfig({ LABELS_INCREMENTAL: 'off' }).incremental).toBe(false)
    expect(readConfig({ LABELS_INCREMENTAL: 'on' }).incremental).toBe(true)
    expect(readConfig({ LABELS_INCREMENTAL: 'always' }).incremental).toBe('always')
    expect(() => readConfig({ LABELS_INCREMENTAL: 'yes' })).toThrow(/LABELS_INCREMENTAL=yes is not on, off or always/)
  })

  it('LABELS_SLOW_STATEMENT_MS: a second by default, a positive integer of milliseconds', () => {
    expect(readConfig({}).slowStatementMs).toBe(1000)
    expect(readConfig({ LABELS_SLOW_STATEMENT_MS: '250' }).slowStatementMs).toBe(250)
    expect(() => readConfig({ LABELS_SLOW_STATEMENT_MS: '0' })).toThrow(/LABELS_SLOW_STATEMENT_MS=0 is not an integer/)
    expect(() => readConfig({ LABELS_SLOW_STATEMENT_MS: '1.5' })).toThrow(/LABELS_SLOW_STATEMENT_MS=1.5/)
  })

  it('refuses an out-of-range integer with the variable named', () => {
    expect(readConfig({}).calcConcurrency).toBe(3)
    expect(() => readConfig({ LABELS_CALC_CONCURRENCY: '0' })).toThrow(/LABELS_CALC_CONCURRENCY=0/)
    expect(readConfig({}).collabRelayHoldMs).toBe(25)
    expect(readConfig({ LABELS_COLLAB_RELAY_HOLD_MS: '0' }).collabRelayHoldMs).toBe(0)
    expect(() => readConfig({ LABELS_COLLAB_RELAY_HOLD_MS: '-1' })).toThrow(/LABELS_COLLAB_RELAY_HOLD_MS=-1/)
  })
})
