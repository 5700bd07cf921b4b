// The state one benchmark run carries between phases: options, the client, the run-unique
// prefix, created resources, and the results and checks every phase appends to.
import type { BenchOptions } from './args.ts'
import type { HttpClient } from './http-client.ts'
import { Phase, runPool, summarize, type PhaseResult } from './pool.ts'
import { formatRow, HEADER } from './report.ts'
import type { RssSampler } from './rss.ts'

export interface Check {
  name: string
  pass: boolean
  detail: string
}

export interface BenchUser {
  index: number
  userName: string
  id: string | null
}

export class Bench {
  readonly opts: BenchOptions
  readonly client: HttpClient
  /** Run-unique prefix of every userName and displayName, so reruns never collide. */
  readonly prefix: string
  readonly rss: RssSampler | null
  readonly results: PhaseResult[] = []
  readonly checks: Check[] = []
  users: BenchUser[] = []
  /** Ids of every group this run created, for the delete phase. */
  readonly groupIds: string[] = []
  #printedHeader = false

  constructor(opts: BenchOptions, client: HttpClient, prefix: string, rss: RssSampler | null) {
    this.opts = opts
    this.client = client
    this.prefix = prefix
    this.rss = rss
  }

  /** Users whose create was acknowledged, in creation order. */
  created(): (BenchUser & { id: string })[] {
    return this.users.filter((u): u is BenchUser & { id: string } => u.id !== null)
  }

  /** Runs one timed phase over `items` and records its result. */
  async phase<T>(
    name: string,
    items: readonly T[],
    fn: (item: T, phase: Phase, index: number, worker: number) => Promise<void>,
    { concurrency = this.opts.concurrency, client = this.client }: { concurrency?: number; client?: HttpClient } = {},
  ): Promise<PhaseResult> {
    const phase = new Phase(name, client)
    this.rss?.markPhase()
    phase.start()
    await runPool(items, concurrency, (item, index, worker) => fn(item, phase, index, worker))
    phase.finish()
    const result = summarize(phase, concurrency, this.rss?.phasePeakMiB() ?? null)
    this.results.push(result)
    if (!this.#printedHeader) {
      console.log(HEADER)
      this.#printedHeader = true
    }
    console.log(formatRow(result))
    return result
  }

  check(name: string, pass: boolean, detail: string): void {
    this.checks.push({ name, pass, detail })
  }
}
