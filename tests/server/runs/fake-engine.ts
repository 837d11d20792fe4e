import type { Definition, EngineApi, NewRun, Run } from '../../../engine/api.ts'

/**
 * A stand-in for the run half of EngineApi (createRun/executeRun/getRun), used ONLY to pin
 * the queue's coalescing, ordering and shutdown logic with exact control over when each
 * run ends. It has no SQL; the queue's behaviour against the real engine is tested
 * separately once EngineService exists.
 */
export class FakeRunEngine implements Pick<EngineApi, 'createRun' | 'executeRun' | 'getRun'> {
  readonly runs = new Map<string, Run & { definition: Definition }>()
  readonly executed: Array<{ runId: string; tz: string; timeoutMs: number | undefined }> = []
  /** Runs currently inside executeRun. */
  readonly inFlight = new Set<string>()
  maxInFlight = 0
  /** When true, executeRun waits for finish(runId); otherwise it succeeds at once. */
  manual = true
  private seq = 0
  private gates = new Map<string, (outcome: Outcome) => void>()

  async createRun(input: NewRun): Promise<Run> {
    await tick()
    const id = input.id ?? `r${++this.seq}`
    const run = {
      id,
      labelId: input.labelId,
      status: 'queued' as const,
      trigger: input.trigger,
      asOf: input.asOf,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      totalUsers: null,
      coveredUsers: null,
      definition: structuredClone(input.definition),
    }
    this.runs.set(id, run)
    return strip(run)
  }

  async executeRun(runId: string, opts: { tz: string; timeoutMs?: number }): Promise<Run> {
    const run = this.runs.get(runId)
    if (!run || run.status !== 'queued') throw new Error(`run ${runId} is not queued`)
    this.executed.push({ runId, tz: opts.tz, timeoutMs: opts.timeoutMs })
    Object.assign(run, { status: 'running', startedAt: new Date().toISOString() })
    this.inFlight.add(runId)
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size)
    const outcome: Outcome = this.manual ? await new Promise<Outcome>((r) => this.gates.set(runId, r)) : 'succeeded'
    this.inFlight.delete(runId)
    if (outcome === 'crash') throw new Error('connection lost')
    Object.assign(run, {
      status: outcome,
      finishedAt: new Date().toISOString(),
      ...(outcome === 'succeeded' ? { totalUsers: 10, coveredUsers: 7 } : { error: 'division by zero' }),
    })
    return strip(run)
  }

  async getRun(runId: string): Promise<Run | null> {
    const run = this.runs.get(runId)
    return run ? strip(run) : null
  }

  /** Ends a run that is inside executeRun. */
  finish(runId: string, outcome: Outcome = 'succeeded'): void {
    const gate = this.gates.get(runId)
    if (!gate) throw new Error(`run ${runId} is not executing`)
    this.gates.delete(runId)
    gate(outcome)
  }

  /** Resolves once `runId` is inside executeRun. */
  async started(runId: string): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (this.gates.has(runId)) return
      await tick()
    }
    throw new Error(`run ${runId} never started`)
  }
}

export type Outcome = 'succeeded' | 'failed' | 'crash'

const tick = () => new Promise<void>((r) => setImmediate(r))

function strip(run: Run & { definition?: Definition }): Run {
  const { definition: _d, ...rest } = run
  return structuredClone(rest)
}
