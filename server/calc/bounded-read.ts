import type { FastifyReply } from 'fastify'
import { LabelsError } from '../../shared/errors.ts'

/** Seconds a client is told to wait (Retry-After) when the database is busy with a calculation. */
export const busyRetryAfterSeconds = 2

/** 503 `unavailable` with Retry-After: the one database connection is held by a calculation. */
export function busyError(reply: FastifyReply | undefined, what: string): LabelsError {
  reply?.header('retry-after', String(busyRetryAfterSeconds))
  return new LabelsError(
    'unavailable',
    `${what}: a calculation holds the database (PGlite has one connection); retry in ${busyRetryAfterSeconds} s`,
    undefined,
    {
      retryAfterSeconds: busyRetryAfterSeconds,
    },
  )
}

/**
 * An engine read that may wait at most `waitMs` (PGlite: behind a calculation holding the one
 * connection), then answers 503 with Retry-After instead of hanging. `waitMs` undefined: no
 * bound (PostgreSQL, where reads have a pool of their own). The engine call itself is not
 * cancelled; its late answer is dropped.
 */
export async function boundedRead<T>(
  read: () => Promise<T>,
  opts: { waitMs: number | undefined; reply?: FastifyReply; what: string },
): Promise<T> {
  if (opts.waitMs === undefined) return read()
  return within(read(), opts.waitMs, () => busyError(opts.reply, opts.what))
}

/** Resolves with `work`, or rejects with `onLate()` once `ms` have passed (the work goes on; its result is dropped). */
export async function within<T>(work: Promise<T>, ms: number, onLate: () => Error): Promise<T> {
  work.catch(() => {})
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onLate()), Math.max(0, ms))
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
