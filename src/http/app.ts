// buildApp: the Fastify instance with every surface registered, not yet listening.
import { randomBytes } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import { uuidV7At } from '../ids.ts'
import type { Deps } from '../provisioning/deps.ts'
import { LogAppender } from '../provisioning/log-appender.ts'
import { purgeDeletedUsers } from '../provisioning/deprovision.ts'
import { LOOPBACK_HOSTS, baseUrlResolver, serverAddress } from './base-url.ts'
import { Retention, pruneEvents, pruneLog } from '../provisioning/log-retention.ts'
import { apiPlugin } from './api/plugin.ts'
import { registerHealth } from './health.ts'
import { REDACT, accessLog } from './access-log.ts'
import { countRequests, createMetrics, metricsRoute, type Metrics } from './metrics.ts'
import { scimPlugin } from './scim/plugin.ts'
import { RateLimiter } from './rate-limit.ts'
import { AuthFailureLimiter } from './auth-failures.ts'
import { safeErrors } from './safe-errors.ts'
import { frameworkErrors } from './bad-url.ts'
import { drainRefusedBodies } from './refused-body.ts'
import { lazySerializers } from './lazy-serializers.ts'
import { securityHeaders } from './security-headers.ts'
import { WebhookDispatcher, type DispatcherOptions } from '../events/dispatcher.ts'
import type { TxtResolver } from '../orgs/domains.ts'
import { Mailer, type MailerSettings } from '../mail/mailer.ts'
import type { ConsolePolicy } from '../console/accounts.ts'
import type { ConsoleMailSettings } from '../console/mail.ts'
import { tokenUseRecorder } from '../console/scim-tokens.ts'
import { registerConsoleStatic } from './console-static.ts'
import { watchClientGone } from './client-gone.ts'
import { abandonDeadline } from './deadline.ts'
import { countInFlight, RequestLoad } from './in-flight.ts'
import { tlsContextOptions, type TlsPair } from './tls.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The provisioning log's background work, for shutdown and tests. */
    provisioningLog: { flush(): Promise<void>; prune(): Promise<number> }
    /** The in-server webhook delivery loop, when it runs. */
    webhookDispatcher: WebhookDispatcher | null
    /** The in-server invitation mailer, when it runs. */
    mailer: Mailer | null
    /** Request and store metrics, when on (http/metrics.ts). */
    metrics: Metrics | null
  }
}

export interface AppOptions {
  readonly deps: Deps
  readonly config: Pick<Config, 'publicUrl' | 'requestTimeoutMs' | 'logLevel'> & Partial<Pick<Config, 'requestLog' | 'logRetentionDays' | 'eventRetentionDays' | 'webhookAllowPrivate' | 'allowedHosts' | 'host' | 'port' | 'sharedDomains' | 'rateLimits' | 'authFailuresPerMinute' | 'trustedProxies' | 'requestDeadlineMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs' | 'webhookTimeoutMs'>>
  /** Provisioning-log timings (tests shorten them). */
  readonly provisioningLog?: { readonly flushIntervalMs?: number; readonly pruneIntervalMs?: number }
  readonly logger?: boolean
  /** How often rate-limit consumption is shared with other servers on PostgreSQL (tests shorten it). */
  readonly rateLimitSyncMs?: number
  /** Where log lines go (standard output when absent). */
  readonly logStream?: NodeJS.WritableStream
  /** Webhook delivery in this server (on unless `false`; `roster worker` delivers otherwise); tests shorten its timings. */
  readonly webhooks?: false | Partial<Pick<DispatcherOptions, 'leaseMs' | 'timeoutMs' | 'intervalMs' | 'concurrency' | 'lookup'>>
  /** Where domain verification looks TXT records up (the system's DNS when absent). */
  readonly txtResolver?: TxtResolver
  /** Metrics (http/metrics.ts): GET /metrics on this app with `token` (null: served elsewhere, server.ts); off when absent. */
  readonly metrics?: { readonly token: string | null; readonly orgLabel: boolean }
  /** Invitation emails sent by this server (mail/mailer.ts; off when absent: `roster worker` sends them otherwise). */
  readonly mailer?: MailerSettings
  /** The admin console's emails (invitations, password resets); none is sent when absent. */
  readonly consoleMail?: ConsoleMailSettings
  /** The console's session, lock-out and link timings (the defaults of console/accounts.ts when absent). */
  readonly consolePolicy?: ConsolePolicy
  /** Where the built console is (console/dist); not served when absent. */
  readonly consoleDir?: string
  /** Serve HTTPS with this certificate and key (http/tls.ts); plain HTTP when absent. */
  readonly tls?: TlsPair
}

/** Request ids: a per-process random prefix and a counter (unique, cheap, not a secret). */
function requestIds(): () => string {
  const prefix = randomBytes(4).toString('hex')
  let n = 0
  return () => `${prefix}-${(++n).toString(36)}`
}

/** The headers timeout (never past the request timeout) and how often Node checks both. */
export function connectionTimeouts(config: { requestTimeoutMs: number; headersTimeoutMs?: number }): { headersMs: number; checkMs: number } {
  const headersMs = Math.min(config.headersTimeoutMs ?? 10_000, config.requestTimeoutMs)
  // A quarter of the shorter bound (within 100 ms–1 s): a slow client is cut within 1.25× it.
  return { headersMs, checkMs: Math.max(100, Math.min(1_000, Math.floor(headersMs / 4))) }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const timeouts = connectionTimeouts(opts.config)
  const httpOptions = { headersTimeout: timeouts.headersMs, requestTimeout: opts.config.requestTimeoutMs, connectionsCheckingInterval: timeouts.checkMs }
  const app = Fastify({
    logger: opts.logger === false ? false : { level: opts.config.logLevel, redact: REDACT, ...(opts.logStream ? { stream: opts.logStream } : {}) },
    // Fastify's two lines per request are off: access-log.ts writes one, with what an operator
    // needs (ROSTER_REQUEST_LOG=0 or LOG_LEVEL=warn turn it off).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIds(),
    requestIdHeader: false,
    bodyLimit: opts.deps.limits.maxBodyBytes,
    // Identity providers give up after ~60 s (Entra) or from 30 s (Okta): answer well before
    // (docs/architecture.md, durability and availability rules).
    requestTimeout: opts.config.requestTimeoutMs,
    connectionTimeout: opts.config.requestTimeoutMs,
    keepAliveTimeout: opts.config.keepAliveTimeoutMs ?? 5_000,
    // Slow clients (docs/security.md, "Slow clients"): Node checks the headers and request
    // timeouts only every connectionsCheckingInterval (30 s by default), so a client trickling
    // bytes outlived both by up to that much; checked here often enough to hold the bounds.
    http: httpOptions,
    // Fastify hands `http` to a plain server only: an HTTPS server takes the same options beside
    // its secure context. A client that never finishes its handshake is dropped at the headers
    // timeout too (Node's default waits 120 s).
    ...(opts.tls ? { https: { ...tlsContextOptions(opts.tls), ...httpOptions, handshakeTimeout: timeouts.headersMs } } : {}),
    return503OnClosing: true,
    // request.ip: the client an X-Forwarded-For of a trusted proxy names, else the connection's
    // address (the source failed authentications are counted by; http/auth-failures.ts).
    ...(opts.config.trustedProxies && opts.config.trustedProxies.length > 0 ? { trustProxy: [...opts.config.trustedProxies] } : {}),
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 200 },
    // A path the router cannot read is answered in its surface's error format (http/bad-url.ts).
    frameworkErrors,
    schemaController: { compilersFactory: { buildSerializer: lazySerializers() } },
  })
  app.server.headersTimeout = timeouts.headersMs
  securityHeaders(app)
  safeErrors(app)
  drainRefusedBodies(app, opts.deps.limits.maxBodyBytes)

  const appender = new LogAppender(opts.deps.store, {
    flushIntervalMs: opts.provisioningLog?.flushIntervalMs,
    onError: (err, dropped) => app.log.warn({ err, dropped }, 'provisioning log: a batch could not be written; retrying'),
    onRejected: (err, row) => app.log.error({ err, orgId: row.orgId, requestId: row.requestId }, 'provisioning log: the database refused a row; it is set aside and the others are written'),
  })
  const logRetention = { retentionDays: opts.config.logRetentionDays ?? 30, now: opts.deps.now }
  const retention = new Retention(() => pruneLog(opts.deps.store, logRetention), {
    intervalMs: opts.provisioningLog?.pruneIntervalMs,
    onError: (err) => app.log.warn({ err }, 'provisioning log: pruning failed; retrying at the next interval'),
  })
  const eventRetention = { retentionDays: opts.config.eventRetentionDays ?? 30, now: opts.deps.now }
  const eventPruning = new Retention(() => pruneEvents(opts.deps.store, eventRetention), {
    intervalMs: opts.provisioningLog?.pruneIntervalMs,
    onError: (err) => app.log.warn({ err }, 'events: pruning failed; retrying at the next interval'),
  })
  // Users kept after DELETE under deprovision: suspend are removed when their days are over.
  const deprovisioning = new Retention(() => purgeDeletedUsers(opts.deps), {
    intervalMs: opts.provisioningLog?.pruneIntervalMs,
    onError: (err) => app.log.warn({ err }, 'deprovisioning: the sweep failed; retrying at the next interval'),
  })
  app.decorate('provisioningLog', { flush: () => appender.flush(), prune: () => retention.prune() })
  const allowPrivate = opts.config.webhookAllowPrivate ?? false
  const webhookTimeoutMs = opts.config.webhookTimeoutMs ?? (opts.webhooks ? opts.webhooks.timeoutMs : undefined)
  const dispatcher = opts.webhooks === false ? null : new WebhookDispatcher({
    store: opts.deps.store, newId: opts.deps.newId, now: opts.deps.now, allowPrivate, ...opts.webhooks,
    onError: (err) => app.log.warn({ err }, 'webhooks: delivery pass failed; retrying'),
  })
  app.decorate('webhookDispatcher', dispatcher)
  app.addHook('onReady', async () => dispatcher?.start())
  const requestLoad = opts.mailer === undefined ? null : new RequestLoad()
  const releaseInFlight = requestLoad === null ? null : countInFlight(app, requestLoad)
  watchClientGone(app, releaseInFlight === null ? [abandonDeadline] : [abandonDeadline, releaseInFlight])
  const mailer = opts.mailer === undefined ? null : new Mailer({
    store: opts.deps.store, newId: opts.deps.newId, now: opts.deps.now, ...(requestLoad ? { load: () => requestLoad.busyShare() } : {}), ...opts.mailer,
    // The outbox's files are the only trace of a message when there is no mail server: each is logged (never its token).
    ...(opts.mailer.writesFiles ? { onSent: (s: { orgId: string; invitationId: string; where: string }) => app.log.info({ orgId: s.orgId, invitationId: s.invitationId, file: s.where }, `invitation email written to ${s.where}`) } : {}),
    onError: (err) => app.log.warn({ err }, 'invitations: mailer pass failed; retrying'),
  })
  app.decorate('mailer', mailer)
  app.addHook('onReady', async () => mailer?.start())
  const metrics = opts.metrics === undefined ? null : await createMetrics({ store: opts.deps.store, logAppenderPending: () => appender.pending, orgLabel: opts.metrics.orgLabel })
  app.decorate('metrics', metrics)
  if (metrics !== null) {
    countRequests(app, metrics)
    if (opts.metrics?.token) metricsRoute(app, metrics, opts.metrics.token)
  }
  if (opts.config.requestLog !== false) accessLog(app)
  registerHealth(app, {
    store: opts.deps.store,
    workers: () => ({ ...(dispatcher ? { webhookDispatcher: dispatcher.running } : {}), ...(mailer ? { mailer: mailer.running } : {}) }),
  })
  // After the last request is answered: stop pruning, write what is buffered.
  app.addHook('onClose', async () => {
    await dispatcher?.stop()
    await mailer?.stop()
    await retention.stop()
    await eventPruning.stop()
    await deprovisioning.stop()
    await appender.close()
  })

  const rateLimiter = opts.config.rateLimits ? new RateLimiter(opts.config.rateLimits, {
    shared: opts.deps.store.rateLimitBuckets, ...(opts.rateLimitSyncMs ? { syncMs: opts.rateLimitSyncMs } : {}),
    // The deployment's clock, as every other time-based rule: a test can stop it.
    now: () => opts.deps.now().getTime(),
    onError: (err) => app.log.warn({ err }, 'rate limits: sharing with the other servers failed; retrying'),
  }) : null
  app.addHook('onClose', async () => rateLimiter?.close())
  // One count per source for both surfaces: a guesser gains nothing by switching between them.
  const authFailures = new AuthFailureLimiter({ perMinute: opts.config.authFailuresPerMinute ?? 0 }, {
    now: () => opts.deps.now().getTime(),
    // Once per address each time it reaches the limit, not once per refused request (UI-3): for the operator.
    onLimited: (source, perMinute) => app.log.warn({ event: 'auth.address_limited', address: source, perMinute }, 'authentication: an address reached its failures a minute and is refused until they age'),
  })
  const failures = authFailures.enabled ? { authFailures } : {}
  const baseUrl = baseUrlResolver({
    publicUrl: opts.config.publicUrl, allowedHosts: opts.config.allowedHosts ?? LOOPBACK_HOSTS,
    fallback: serverAddress(opts.config.host ?? '127.0.0.1', opts.config.port ?? 8080, opts.tls ? 'https' : 'http'),
  })
  const tokenUsed = tokenUseRecorder(opts.deps, (err) => app.log.warn({ err }, 'scim token: could not record its use'))
  await app.register(scimPlugin, { prefix: '/scim/v2', deps: opts.deps, baseUrl, appender, logIdAt: uuidV7At(), tokenUsed, ...(rateLimiter?.enabled ? { rateLimiter } : {}), ...failures,
    ...(opts.config.requestDeadlineMs ? { deadlineMs: opts.config.requestDeadlineMs } : {}),
  })
  let closed: () => void = () => undefined
  const closing = new Promise<void>((resolve) => {
    closed = resolve
  })
  // Long-polls answer at once when the server starts closing, so that it can close.
  app.addHook('preClose', async () => closed())
  await app.register(apiPlugin, {
    prefix: '/api/v1', deps: opts.deps, eventRetentionDays: eventRetention.retentionDays, closing,
    // A test send waits for the receiver as long as a delivery does (ROSTER_WEBHOOK_TIMEOUT_MS), also on a server that leaves delivery to workers.
    webhookPolicy: {
      allowPrivate, ...(opts.webhooks && opts.webhooks.lookup ? { lookup: opts.webhooks.lookup } : {}),
      ...(webhookTimeoutMs === undefined ? {} : { timeoutMs: webhookTimeoutMs }),
    },
    sharedDomains: opts.config.sharedDomains ?? false, ...(opts.txtResolver ? { txtResolver: opts.txtResolver } : {}),
    baseUrl: (request) => baseUrl(request.protocol, request.headers.host), publicUrl: opts.config.publicUrl,
    ...(opts.consoleMail ? { consoleMail: opts.consoleMail } : {}), ...(opts.consolePolicy ? { consolePolicy: opts.consolePolicy } : {}),
    ...(rateLimiter?.enabled ? { rateLimiter } : {}), ...failures, ...(opts.config.requestDeadlineMs ? { deadlineMs: opts.config.requestDeadlineMs } : {}),
  })
  if (opts.consoleDir !== undefined) registerConsoleStatic(app, opts.consoleDir)
  return app
}
