// The state one benchmark run carries between phases: options, the servers, the organizations
// and their tokens, the run-unique prefix, created resources, and the results and checks every
// phase appends to.
import type { BenchOptions } from './args.ts'
import type { HttpResponse, Method, Requester } from './http-client.ts'
import { Phase, runPool, summarize, type PhaseResult } from './pool.ts'
import { formatRow, HEADER } from './report.ts'
import type { RssSampler } from './rss.ts'

export interface Check {
  name: string
  pass: boolean
  detail: string
}

/** An organization the run drives; with one organization, `token` is undefined (the client's own). */
export interface BenchOrg {
  index: number
  token: string | undefined
}

export interface BenchUser {
  /** Global creation index; user i belongs to organization i % orgs. */
  index: number
  org: number
  userName: string
  id: string | null
}

export class Bench {
  readonly opts: BenchOptions
  readonly client: Requester
  /** Run-unique prefix of every userName and displayName, so reruns never collide. */
  readonly prefix: string
  readonly orgs: readonly BenchOrg[]
  readonly rss: readonly RssSampler[]
  readonly results: PhaseResult[] = []
  readonly checks: Check[] = []
  users: BenchUser[] = []
  /** Ids of every group this run created, with their organization, for the delete phase. */
  readonly groupIds: { org: number; id: string }[] = []
  #printedHeader = false

  constructor(opts: BenchOptions, client: Requester, prefix: string, orgs: readonly BenchOrg[], rss: readonly RssSampler[]) {
    this.opts = opts
    this.client = client
    this.prefix = prefix
    this.orgs = orgs
    this.rss = rss
  }

  /** The token of organization `org` (undefined: the client's own). */
  token(org: number): string | undefined {
    return this.orgs[org]?.token
  }

  /** An untimed request as organization `org`. */
  request(org: number, method: Method, path: string, body?: unknown): Promise<HttpResponse> {
    return this.client.request(method, path, body, this.token(org))
  }

  /** Users whose create was acknowledged, in creation order. */
  created(): (BenchUser & { id: string })[] {
    return this.users.filter((u): u is BenchUser & { id: string } => u.id !== null)
  }

  /** The users of one organization whose create was acknowledged, in creation order. */
  createdIn(org: number): (BenchUser & { id: string })[] {
    const out: (BenchUser & { id: string })[] = []
    for (let i = org; i < this.users.length; i += this.orgs.length) {
      const u = this.users[i] as BenchUser
      if (u.id !== null) out.push(u as BenchUser & { id: string })
    }
    return out
  }

  /**
   * The acknowledged users a capped phase runs over: all of them without --max-requests;
   * otherwise at most that many, the same number from every organization, each organization's
   * picks spread over its users, interleaved across organizations in creation order.
   */
  sample(): (BenchUser & { id: string })[] {
    const cap = this.opts.maxRequests
    if (cap === null || cap >= this.users.length) return this.created()
    const n = this.orgs.length
    const perOrg = Math.max(1, Math.floor(cap / n))
    const orgSize = Math.ceil(this.users.length / n)
    const out: (BenchUser & { id: string })[] = []
    for (let k = 0; k < perOrg && out.length < cap; k++) {
      const pos = Math.floor((k * orgSize) / perOrg)
      for (let o = 0; o < n && out.length < cap; o++) {
        const u = this.users[o + pos * n]
        if (u !== undefined && u.id !== null) out.push(u as BenchUser & { id: string })
      }
    }
    return out
  }

  /** Runs one timed phase over `items` and records its result. */
  async phase<T>(
    name: string,
    items: readonly T[],
    fn: (item: T, phase: Phase, index: number, worker: number) => Promise<void>,
    { concurrency = this.opts.concurrency, client = this.client }: { concurrency?: number; client?: Requester } = {},
  ): Promise<PhaseResult> {
    const phase = new Phase(name, client)
    for (const r of this.rss) r.markPhase()
    phase.start()
    await runPool(items, concurrency, (item, index, worker) => fn(item, phase, index, worker))
    phase.finish()
    const result = summarize(phase, concurrency, this.rss.map((r) => r.phasePeakMiB()), this.rss.map((r) => r.phaseCpu()))
    phase.latencies.length = 0
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
