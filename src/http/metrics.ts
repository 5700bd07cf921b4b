// GET /metrics in the Prometheus text format (docs/operations.md, metrics). Requests are counted
// in an onResponse hook into preallocated series (a Map lookup per label, nothing allocated once
// a series exists); the rest is read when Prometheus scrapes: queue depths from the database,
// the stores' write transactions and pools (ops/store-stats.ts), the log appender's buffer, and
// prom-client's process metrics (CPU, memory, event-loop delay, garbage collection).
// Guarded: a bearer token (ROSTER_METRICS_TOKEN), or a port of its own (ROSTER_METRICS_PORT,
// src/http/server.ts) that is not exposed to identity providers. Without either it is off.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Histogram, labelValue } from '../ops/histogram.ts'
import { pools, writeBatches } from '../ops/store-stats.ts'
import type { QueueDepths, Store } from '../store/store.ts'

/** Seconds; from a cached read (about a millisecond) to the request timeout. */
export const LATENCY_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25]

interface Series { readonly labels: string; readonly latency: Histogram }

/** route → method → status → identity provider → organization → series. */
type Tree = Map<string, Map<string, Map<number, Map<string, Map<string, Series>>>>>

export class RequestMetrics {
  readonly #tree: Tree = new Map()
  readonly #series: Series[] = []
  readonly #orgLabel: boolean

  constructor(opts: { orgLabel: boolean }) {
    this.#orgLabel = opts.orgLabel
  }

  observe(route: string, method: string, status: number, idp: string, org: string, seconds: number): void {
    // Plain lookups, no closures: nothing is allocated once the series exists.
    let byMethod = this.#tree.get(route)
    if (byMethod === undefined) this.#tree.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()))
    let byIdp = byStatus.get(status)
    if (byIdp === undefined) byStatus.set(status, (byIdp = new Map()))
    let byOrg = byIdp.get(idp)
    if (byOrg === undefined) byIdp.set(idp, (byOrg = new Map()))
    const key = this.#orgLabel ? org : ''
    let s = byOrg.get(key)
    if (s === undefined) {
      const labels = `route="${labelValue(route)}",method="${labelValue(method)}",status="${status}",identity_provider="${labelValue(idp)}"${this.#orgLabel ? `,organization="${labelValue(org)}"` : ''}`
      s = { labels, latency: new Histogram(LATENCY_SECONDS) }
      byOrg.set(key, s)
      this.#series.push(s)
    }
    s.latency.observe(seconds)
  }

  lines(out: string[]): void {
    out.push('# HELP roster_http_requests_total HTTP requests answered, by route template, method, status and identity provider.', '# TYPE roster_http_requests_total counter')
    for (const s of this.#series) out.push(`roster_http_requests_total{${s.labels}} ${s.latency.count}`)
    out.push('# HELP roster_http_request_duration_seconds Time from the request\'s arrival to its answer.', '# TYPE roster_http_request_duration_seconds histogram')
    for (const s of this.#series) s.latency.lines('roster_http_request_duration_seconds', s.labels, out)
  }
}

export interface MetricsOptions {
  readonly store: Store
  /** Rows the provisioning log's appender holds, not yet written. */
  readonly logAppenderPending: () => number
  /** A label per organization on request metrics (ROSTER_METRICS_ORG_LABEL; one series per organization). */
  readonly orgLabel: boolean
}

export interface Metrics {
  readonly requests: RequestMetrics
  readonly contentType: string
  text(): Promise<string>
}

/** Loads prom-client only here: a third of a second at start that the CLI's commands never pay. */
export async function createMetrics(opts: MetricsOptions): Promise<Metrics> {
  const { Gauge, Registry, collectDefaultMetrics } = await import('prom-client')
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'roster_' })
  const requests = new RequestMetrics({ orgLabel: opts.orgLabel })
  // Read once per scrape, before the gauges are collected (prom-client collects them all at once).
  let depths: QueueDepths | null = null
  new Gauge({
    name: 'roster_queue_depth', help: 'Work waiting: log_appender (rows in memory), webhook_deliveries, invitation_emails, unstamped_events (rows in the database).',
    labelNames: ['queue'], registers: [registry],
    collect() {
      this.set({ queue: 'log_appender' }, opts.logAppenderPending())
      if (depths === null) return
      this.set({ queue: 'webhook_deliveries' }, depths.webhookDeliveries)
      this.set({ queue: 'invitation_emails' }, depths.invitationEmails)
      this.set({ queue: 'unstamped_events' }, depths.unstampedEvents)
    },
  })
  new Gauge({
    name: 'roster_event_lag_events', help: 'Events committed that a consumer (the webhook fan-out, the invitation mailer) has not read yet.',
    labelNames: ['consumer'], registers: [registry],
    collect() {
      if (depths === null) return
      this.set({ consumer: 'webhooks' }, depths.webhookEventLag)
      this.set({ consumer: 'mailer' }, depths.mailerEventLag)
    },
  })
  new Gauge({
    name: 'roster_db_pool_connections', help: 'Database connections (SQLite: the writer) by state: total, idle, waiting (requests waiting for one).',
    labelNames: ['pool', 'state'], registers: [registry],
    collect() {
      for (const [pool, use] of pools) {
        const u = use()
        this.set({ pool, state: 'total' }, u.total)
        this.set({ pool, state: 'idle' }, u.idle)
        this.set({ pool, state: 'waiting' }, u.waiting)
      }
    },
  })
  return {
    requests,
    contentType: registry.contentType,
    async text() {
      depths = await opts.store.queueDepths().catch(() => null)
      const out: string[] = []
      requests.lines(out)
      out.push('# HELP roster_db_write_batch_size Requests per write transaction (SQLite group commit; 1 on PostgreSQL).', '# TYPE roster_db_write_batch_size histogram')
      writeBatches.size.lines('roster_db_write_batch_size', '', out)
      out.push('# HELP roster_db_write_transaction_seconds Time from BEGIN to the end of COMMIT of a write transaction.', '# TYPE roster_db_write_transaction_seconds histogram')
      writeBatches.seconds.lines('roster_db_write_transaction_seconds', '', out)
      out.push('# HELP roster_db_write_batches_failed_total Write transactions that failed as a whole (each request answered 503).', '# TYPE roster_db_write_batches_failed_total counter')
      out.push(`roster_db_write_batches_failed_total ${writeBatches.failed}`)
      out.push('# HELP roster_db_write_retries_total Write transactions run again after a deadlock or a serialization failure (PostgreSQL).', '# TYPE roster_db_write_retries_total counter')
      out.push(`roster_db_write_retries_total ${writeBatches.retried}`)
      return `${out.join('\n')}\n${await registry.metrics()}`
    },
  }
}

/** Counts every answered request (a root hook: SCIM, the API, probes, 404s). */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const r = request as FastifyRequest & { scimTrace?: { identityProvider: string } | null; orgId?: string | null; apiKey?: { orgId: string | null } | null }
    metrics.requests.observe(
      request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode,
      r.scimTrace?.identityProvider ?? 'none', r.orgId ?? r.apiKey?.orgId ?? '', reply.elapsedTime / 1000,
    )
    done()
  })
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

/** GET /metrics on `app`, answering only a request that carries `token` (401 otherwise); `token` null: no check (a port of its own). */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null): void {
  app.get('/metrics', { logLevel: 'silent' }, async (request, reply) => {
    if (token !== null && !tokenMatches(request.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'a bearer token (ROSTER_METRICS_TOKEN) is needed' })
    }
    return reply.header('content-type', metrics.contentType).send(await metrics.text())
  })
}
