import type { Definition, Distribution, DistributionQuery, SchemaDescription } from '../../engine/api.ts'

/** A preview outcome that survives the worker boundary (comlink would drop a LabelsError's code and path). */
export type PreviewOutcome =
  | { ok: true; distribution: Distribution; ms: number }
  | { ok: false; error: { code: string; message: string; path?: string } }

/** The browser engine in the worker (same EngineService as the server, over in-memory PGlite). */
export interface PreviewEngine {
  /** Loads the sample (the seeded demo shop); resolves when ready, with its size. */
  init(opts: { users: number; seed: number }): Promise<{ users: number; events: number; ms: number }>
  schema(): Promise<SchemaDescription>
  preview(def: Definition, opts: { tz: string; query?: DistributionQuery; timeoutMs?: number }): Promise<PreviewOutcome>
}
