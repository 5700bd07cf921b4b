// Worker pool and per-phase statistics: `runPool` keeps `concurrency` tasks in flight over a
// task list; `Phase` records each request's latency and any unexpected status, and
// `summarize` turns that into count / errors / ops/s / percentiles.
import { performance } from 'node:perf_hooks'
import type { HttpResponse, Method, Requester } from './http-client.ts'
import { machineTicks, stealPct, type CpuShare, type MachineTicks } from './rss.ts'

/** Runs `fn` over `items` with at most `concurrency` in flight. `worker` is the 0-based lane. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async (worker: number): Promise<void> => {
    while (next < items.length) {
      const index = next++
      await fn(items[index] as T, index, worker)
    }
  }
  const lanes = Math.max(1, Math.min(concurrency, items.length))
  await Promise.all(Array.from({ length: lanes }, (_, w) => lane(w)))
}

export interface ErrorSample {
  request: string
  status: number | 'network'
  body: string
}

export interface PhaseResult {
  name: string
  count: number
  errors: number
  errorsByStatus: Record<string, number>
  errorSamples: ErrorSample[]
  concurrency: number
  wallMs: number
  opsPerSec: number
  p50: number
  p95: number
  p99: number
  max: number
  /** Peak server RSS seen while the phase ran (only with --pid); the highest of several servers. */
  peakRssMiB: number | null
  /** With several servers: each one's peak RSS during the phase, in --pid order. */
  peakRssMiBByServer?: number[]
  /**
   * CPU during the phase, in % of one core: the benchmark's own process (the client), and with
   * --pid the server (all its threads, and its main thread: the event loop). On a machine whose
   * cores the client shares, this says whether the server's event loop or the machine ran out.
   */
  cpu: { clientPct: number; serverPct?: number; serverMainPct?: number; stealPct?: number }
  /** Extra per-phase numbers, e.g. members/s or fraction of the ceiling. */
  notes: Record<string, number | string>
}

const MAX_SAMPLES = 3
const MAX_BODY = 400

export class Phase {
  readonly name: string
  readonly latencies: number[] = []
  errors = 0
  readonly errorsByStatus: Record<string, number> = {}
  readonly errorSamples: ErrorSample[] = []
  readonly notes: Record<string, number | string> = {}
  readonly #client: Requester
  #started = 0
  #finished = 0
  #cpuStart: NodeJS.CpuUsage = { user: 0, system: 0 }
  #machineStart: MachineTicks | null = null
  /** The client's CPU over the phase (the whole bench process), in % of one core. */
  clientCpuPct = 0
  /** The share of the machine's CPU time stolen by the hypervisor during the phase (Linux), in %. */
  stealPct: number | null = null

  constructor(name: string, client: Requester) {
    this.name = name
    this.#client = client
  }

  start(): void {
    this.#started = performance.now()
    this.#cpuStart = process.cpuUsage()
    this.#machineStart = machineTicks()
  }

  finish(): void {
    this.#finished = performance.now()
    const used = process.cpuUsage(this.#cpuStart)
    const wallUs = (this.#finished - this.#started) * 1000
    this.clientCpuPct = wallUs > 0 ? Math.round(((used.user + used.system) / wallUs) * 100) : 0
    this.stealPct = stealPct(this.#machineStart, machineTicks())
  }

  get wallMs(): number {
    return this.#finished - this.#started
  }

  /**
   * Sends one timed request. Returns the response when its status is in `expect`; otherwise
   * counts an error, keeps the first few as samples, and returns null.
   */
  async send(method: Method, path: string, body: unknown, expect: readonly number[], token?: string): Promise<HttpResponse | null> {
    const started = performance.now()
    let res: HttpResponse
    try {
      res = await this.#client.request(method, path, body, token)
    } catch (err) {
      this.latencies.push(performance.now() - started)
      this.#error(`${method} ${path}`, 'network', err instanceof Error ? err.message : String(err))
      return null
    }
    this.latencies.push(res.ms)
    if (expect.includes(res.status)) return res
    this.#error(`${method} ${path}`, res.status, res.body)
    return null
  }

  #error(request: string, status: number | 'network', body: string): void {
    this.errors++
    this.errorsByStatus[String(status)] = (this.errorsByStatus[String(status)] ?? 0) + 1
    if (this.errorSamples.length < MAX_SAMPLES) {
      this.errorSamples.push({ request: truncate(request, 200), status, body: truncate(body, MAX_BODY) })
    }
  }
}

export function summarize(phase: Phase, concurrency: number, rssByServer: readonly number[], cpuByServer: readonly (CpuShare | null)[] = []): PhaseResult {
  const shares = cpuByServer.filter((c): c is CpuShare => c !== null)
  // Several servers: their processes' CPU added up, and the busiest event loop.
  const steal = phase.stealPct === null ? {} : { stealPct: phase.stealPct }
  const cpu = shares.length === 0
    ? { clientPct: phase.clientCpuPct, ...steal }
    : { clientPct: phase.clientCpuPct, serverPct: shares.reduce((n, c) => n + c.serverPct, 0), serverMainPct: Math.max(...shares.map((c) => c.serverMainPct)), ...steal }
  const peakRssMiB = rssByServer.length === 0 ? null : Math.max(...rssByServer)
  const sorted = Float64Array.from(phase.latencies).sort()
  const wallMs = phase.wallMs
  return {
    name: phase.name,
    count: sorted.length,
    errors: phase.errors,
    errorsByStatus: phase.errorsByStatus,
    errorSamples: phase.errorSamples,
    concurrency,
    wallMs: round(wallMs),
    opsPerSec: wallMs > 0 ? round((sorted.length * 1000) / wallMs) : 0,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : 0),
    peakRssMiB,
    ...(rssByServer.length > 1 ? { peakRssMiBByServer: [...rssByServer] } : {}),
    cpu,
    notes: phase.notes,
  }
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s
}
