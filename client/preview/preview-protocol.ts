import type { Definition, Distribution, DistributionQuery, SchemaDescription } from '../../engine/api.ts'

/**
 * A preview's distribution and how long it took. A refused rule is thrown as a LabelsError that
 * keeps its code and JSON path across the worker boundary (shared/worker-errors.ts: both sides
 * call registerErrorTransport).
 */
export interface PreviewResult {
  distribution: Distribution
  ms: number
}

/** Where the preview's customers come from. */
export interface SampleSource {
  /** Absolute address of GET /api/data/sample with its users and seed. */
  url: string
  token: string
  /** The local demo shop loaded when the workspace sample can't be (viewer, network, server error). */
  fallback: { users: number; seed: number }
  /**
   * Keep the workspace sample in IndexedDB (kept-sample.ts: the database's tarball): load it and
   * keep it as `fresh`, or open the one kept as `kept` — first when `preferKept`, else when the
   * fresh load fails (offline).
   */
  store?: { fresh: string; kept?: string; preferKept: boolean }
}

/**
 * Where a load's time went, in ms (bench/client-flows.ts prints it; the panel keeps it in
 * `data-phases`): `worker` from starting the worker to its first call, `boot` PGlite's start
 * (WASM, data files, a new database: from the build's template, fetched in `template`, or by
 * initdb), `migrate` the engine's tables, `network` waiting for the
 * sample's bytes, `ingest` parsing and storing them, `open` reading a kept copy from IndexedDB. A phase that did not happen is absent.
 */
export type LoadPhases = Partial<
  Record<'worker' | 'template' | 'boot' | 'migrate' | 'network' | 'ingest' | 'open', number>
>

/** What the worker loaded. */
export type LoadedSample = (
  | {
      origin: 'workspace'
      users: number
      events: number
      totalUsers: number
      tz: string
      ms: number
      stored?: { dataDir: string; loadedAt: number }
    }
  | { origin: 'demo'; users: number; events: number; ms: number; reason: string }
) & { phases?: LoadPhases }

/** The browser engine in the worker (same EngineService as the server, over in-memory PGlite). */
export interface PreviewEngine {
  /**
   * Starts an empty engine (PGlite, the engine's tables) ahead of the first `init`, which then
   * only loads the sample into it; resolves when started. Nothing when a load began already.
   */
  warm(): Promise<void>
  /** Loads the workspace's customer sample (or, failing that, the demo shop); resolves when ready. */
  init(source: SampleSource): Promise<LoadedSample>
  /**
   * Where `init`'s sample was kept for the next start (`source.store`), once written (after the
   * first preview); null when nothing was kept.
   */
  kept(): Promise<{ dataDir: string; loadedAt: number } | null>
  /** Loads the sample again (the kept one is a day old and the network is back); previews switch to it once loaded. */
  refresh(source: SampleSource): Promise<LoadedSample>
  schema(): Promise<SchemaDescription>
  preview(def: Definition, opts: { tz: string; query?: DistributionQuery; timeoutMs?: number }): Promise<PreviewResult>
}
