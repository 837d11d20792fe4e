import { makeRng, type Rng } from '../../shared/prng.ts'
import type { EventRecord, UserRecord } from '../ingest/types.ts'
import * as v from './vocabulary.ts'

export interface DemoOptions {
  users: number
  seed?: number
  /** The end of the generated activity (default: now). */
  now?: string | Date
  /** Days of event history before `now` (default 90). */
  days?: number
}

const dayMs = 86_400_000

/** A seed for user `i` alone, so each user (and its events) is generated independently of the rest. */
function userSeed(seed: number, i: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

const weighted = <T>(rng: Rng, list: { readonly values: readonly T[]; readonly weights: readonly number[] }): T =>
  rng.weighted(list.values, list.weights)

/** The demo user id of index i. */
export const demoUserId = (i: number): string => `u${String(i + 1).padStart(7, '0')}`

/** Pareto-distributed activity, heavy-tailed like real customers: most visit a little, a few a lot. */
function sessionCount(rng: Rng): number {
  if (rng.bool(0.12)) return 0 // registered, never came back in the window
  const alpha = 1.7
  const xm = 1.8
  const x = xm / Math.pow(1 - rng.next(), 1 / alpha)
  return Math.min(150, Math.floor(x))
}

interface Profile {
  user: UserRecord
  membership: string
  favourite: string
  registered: number
  sessions: number
  /** How long ago (ms before now) the user was last active; recency decays over the window. */
  lastSeenAgo: number
}

function profile(seed: number, i: number, now: number): { rng: Rng; p: Profile } {
  const rng = makeRng(userSeed(seed, i))
  const age = 18 + Math.floor(52 * Math.pow(rng.next(), 1.6)) // skewed young
  const membership = weighted(rng, v.memberships)
  const registered = now - Math.floor(Math.pow(rng.next(), 1.5) * 3 * 365 * dayMs) - rng.int(0, dayMs)
  const user: UserRecord = {
    user_id: demoUserId(i),
    properties: {
      city: weighted(rng, v.cities),
      age,
      gender: weighted(rng, v.genders),
      membership_level: membership,
      registration_date: new Date(registered).toISOString(),
    },
  }
  const favourite = weighted(rng, v.categories)
  const sessions = sessionCount(rng)
  const lastSeenAgo = Math.floor(-Math.log(1 - rng.next()) * 12 * dayMs) // exponential, mean 12 days
  return { rng, p: { user, membership, favourite, registered, sessions, lastSeenAgo } }
}

/** A session start: recent days more likely, hour and weekday patterns, never before registration. */
function sessionTime(rng: Rng, p: Profile, now: number, windowStart: number): number | null {
  const end = now - p.lastSeenAgo
  const start = Math.max(windowStart, p.registered)
  if (end <= start) return null
  for (let attempt = 0; attempt < 8; attempt++) {
    const day = Math.floor((start + (end - start) * Math.pow(rng.next(), 0.6)) / dayMs) * dayMs
    const t = day + rng.weighted(hourIndices, v.hourWeights) * 3_600_000 + rng.int(0, 3_599_999)
    if (t < start || t >= end) continue
    if (rng.next() * 1.35 > (v.weekdayWeights[new Date(t).getUTCDay()] ?? 1)) continue
    return t
  }
  return null
}

const hourIndices = v.hourWeights.map((_, h) => h)

function product(rng: Rng, favourite: string): { product_id: string; category: string; price: number } {
  const category = rng.bool(0.5) ? favourite : weighted(rng, v.categories)
  const [lo, hi] = v.priceRange[category] ?? [1, 100]
  const price = Math.round((lo + (hi - lo) * Math.pow(rng.next(), 2.5)) * 100) / 100
  return { product_id: `${category[0]}${rng.int(1, v.productsPerCategory)}`, category, price }
}

/** One session's funnel: app_open > view_product > add_to_cart > purchase, with coupons and shares. */
function* session(
  rng: Rng,
  p: Profile,
  start: number,
  now: number,
): Generator<Omit<EventRecord, 'user_id' | 'event_id'>> {
  let t = start
  const at = () => new Date(t).toISOString()
  const step = () => {
    t += rng.int(5_000, 240_000)
  }
  yield { event: 'app_open', time: at(), properties: {} }
  const cart: Array<{ category: string; price: number }> = []
  const views = Math.floor(-Math.log(1 - rng.next()) * 2.2)
  for (let k = 0; k < views; k++) {
    step()
    if (t >= now) return
    const item = product(rng, p.favourite)
    yield { event: 'view_product', time: at(), properties: item }
    if (rng.bool(0.22)) {
      step()
      if (t >= now) return
      cart.push(item)
      yield { event: 'add_to_cart', time: at(), properties: item }
    }
  }
  const boost = v.membershipBoost[p.membership] ?? 1
  if (cart.length > 0 && rng.bool(Math.min(0.9, 0.35 * boost))) {
    step()
    if (t >= now) return
    const amount = Math.round(cart.reduce((s, c) => s + c.price, 0) * 100) / 100
    const first = cart[0] as { category: string }
    if (rng.bool(0.3)) {
      const i = rng.weighted(
        v.coupons.values.map((_, j) => j),
        v.coupons.weights,
      )
      yield {
        event: 'coupon_use',
        time: at(),
        properties: { coupon: v.coupons.values[i] ?? 'WELCOME10', discount: v.coupons.discount[i] ?? 10 },
      }
    }
    yield {
      event: 'purchase',
      time: at(),
      properties: { amount, category: first.category, channel: weighted(rng, v.purchaseChannels) },
    }
  }
  if (rng.bool(0.06)) {
    step()
    if (t < now) yield { event: 'share', time: at(), properties: { channel: weighted(rng, v.shareChannels) } }
  }
}

function resolveNow(opts: DemoOptions): number {
  const now = opts.now === undefined ? Date.now() : new Date(opts.now).getTime()
  if (Number.isNaN(now)) throw new Error(`demo: bad "now" ${String(opts.now)}`)
  return now
}

/** The demo users, one record each, generated lazily. */
export function* demoUsers(opts: DemoOptions): Generator<UserRecord> {
  const now = resolveNow(opts)
  for (let i = 0; i < opts.users; i++) yield profile(opts.seed ?? 1, i, now).p.user
}

/** The demo events, user by user in time order, generated lazily (10M never sit in memory). */
export function* demoEvents(opts: DemoOptions): Generator<EventRecord> {
  const now = resolveNow(opts)
  const windowStart = now - (opts.days ?? 90) * dayMs
  const seed = opts.seed ?? 1
  for (let i = 0; i < opts.users; i++) {
    const { rng, p } = profile(seed, i, now)
    const starts: number[] = []
    for (let s = 0; s < p.sessions; s++) {
      const t = sessionTime(rng, p, now, windowStart)
      if (t !== null) starts.push(t)
    }
    starts.sort((a, b) => a - b)
    let n = 0
    let last = 0
    for (const planned of starts) {
      const start = Math.max(planned, last + 60_000) // a long session pushes the next one back
      if (start >= now) break
      for (const e of session(rng, p, start, now)) {
        last = Date.parse(e.time as string)
        yield { ...e, user_id: p.user.user_id, event_id: `${p.user.user_id}-${seed}-${n++}` }
      }
    }
  }
}
