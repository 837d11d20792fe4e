import { afterEach, beforeEach, expect, it } from 'vitest'
import {
  claimScheduleSlot,
  deleteScheduleSlots,
  lastScheduleSlot,
  migrateScheduleSlots,
} from '../../../engine/schedule-slots.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

// engine/schedule-slots.ts lives in the engine but only the scheduler uses it, so its tests sit here.
describeEachDb('schedule slot claims', (kind) => {
  let db: TestDb
  beforeEach(async () => {
    db = await newDb(kind)
    await migrateScheduleSlots(db)
    await migrateScheduleSlots(db) // idempotent
  })
  afterEach(async () => {
    await db.dispose()
  })

  it('a slot is won by exactly one claim, even when claims race', async () => {
    const slot = '2024-05-01T08:00:00.000Z'
    const wins = await Promise.all(Array.from({ length: 6 }, () => claimScheduleSlot(db, 'l1', slot)))
    expect(wins.filter(Boolean)).toHaveLength(1)
    expect(await claimScheduleSlot(db, 'l1', slot)).toBe(false)
    // The same instant written in another offset is the same slot.
    expect(await claimScheduleSlot(db, 'l1', '2024-05-01T10:00:00+02:00')).toBe(false)
  })

  it('claims only move forward: an older slot is refused once a newer one is claimed', async () => {
    expect(await claimScheduleSlot(db, 'l1', '2024-05-02T08:00:00Z')).toBe(true)
    expect(await claimScheduleSlot(db, 'l1', '2024-05-01T08:00:00Z')).toBe(false)
    expect(await claimScheduleSlot(db, 'l1', '2024-05-03T08:00:00Z')).toBe(true)
  })

  it('lastScheduleSlot returns the newest claim per label as ISO, null when none', async () => {
    expect(await lastScheduleSlot(db, 'l1')).toBeNull()
    await claimScheduleSlot(db, 'l1', '2024-05-01T08:00:00Z')
    await claimScheduleSlot(db, 'l1', '2024-05-02T08:00:00Z')
    await claimScheduleSlot(db, 'l2', '2024-06-01T08:00:00Z')
    expect(await lastScheduleSlot(db, 'l1')).toBe('2024-05-02T08:00:00.000Z')
    expect(await lastScheduleSlot(db, 'l2')).toBe('2024-06-01T08:00:00.000Z')
    await deleteScheduleSlots(db, 'l1')
    expect(await lastScheduleSlot(db, 'l1')).toBeNull()
    expect(await lastScheduleSlot(db, 'l2')).toBe('2024-06-01T08:00:00.000Z')
  })
})
