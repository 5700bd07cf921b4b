// Configuration, read once from the environment, validated and frozen. Every startup error has
// a stable code (docs/errors.md says how to fix each).
import { isIP } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { LOOPBACK_HOSTS } from './http/base-url.ts'
import type { RateLimitSettings } from './http/rate-limit.ts'
import type { TlsFiles } from './http/tls.ts'
import { parseMailbox } from './mail/mime.ts'
import { DEFAULT_INVITE_URL, inviteUrl } from './mail/templates.ts'
import { DEFAULT_LIMITS, type Limits } from './provisioning/deps.ts'

export class ConfigError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  /** `allowFsyncOff`: start on a PostgreSQL server that runs with fsync=off (a warning instead of ROSTER_ERR_DB_NOT_DURABLE). */
  | { readonly kind: 'postgres'; readonly url: string; readonly allowFsyncOff?: boolean }

export interface Config {
  readonly host: string
  readonly port: number
  /** Serve HTTPS with this certificate and key (PEM files; http/tls.ts); null: plain HTTP, TLS ends at a proxy in front. */
  readonly tls: TlsFiles | null
  readonly database: DatabaseConfig
  /** Base URL identity providers reach, e.g. https://roster.example.com (src/http/base-url.ts when unset). */
  readonly publicUrl: string | null
  /** Without publicUrl: the Host headers that may stand for the server (ROSTER_ALLOWED_HOSTS; loopback by default). */
  readonly allowedHosts: readonly string[]
  readonly limits: Limits
  /** Per-credential and per-organization request rates of SCIM and /api/v1 (http/rate-limit.ts). */
  readonly rateLimits: RateLimitSettings
  /** Failed authentications (SCIM token, API key) a source address may have within a minute; then 429 (http/auth-failures.ts). 0: no limit. */
  readonly authFailuresPerMinute: number
  /**
   * The reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client
   * (ROSTER_TRUSTED_PROXIES): the address failed authentications are counted by. Empty: the
   * connection's own address.
   */
  readonly trustedProxies: readonly string[]
  /** How long a SCIM or /api/v1 request may take to be answered; then 503 and its work is abandoned (http/deadline.ts). */
  readonly requestDeadlineMs: number
  /** Server-side request timeout, under identity providers' client timeouts (Entra ~60 s, Okta ≥ 30 s). */
  readonly requestTimeoutMs: number
  /** How long a request's headers may take to arrive (slow clients; never more than requestTimeoutMs). */
  readonly headersTimeoutMs: number
  /** How long an idle keep-alive connection is kept open. */
  readonly keepAliveTimeoutMs: number
  readonly logLevel: string
  readonly migrate: boolean
  /** SQLite: worker threads for reads that may scan. */
  readonly sqliteReadWorkers: number
  /** SQLite: the writer connection's page cache, MiB. */
  readonly sqliteCacheMiB: number
  /** PostgreSQL: connections per server. */
  readonly dbPoolSize: number
  /** Days a provisioning-log row is kept; older rows are pruned by the server. */
  readonly logRetentionDays: number
  /** Days an event is kept for the feed; a cursor older than that is a 410. */
  readonly eventRetentionDays: number
  /** Webhooks may go to loopback, link-local and private addresses (tests, closed networks). */
  readonly webhookAllowPrivate: boolean
  /** Deliver webhooks inside the server (`roster worker` delivers them otherwise). */
  readonly webhookWorker: boolean
  /** Longest wait for a webhook receiver's answer (Standard Webhooks suggests 15 to 30 s). */
  readonly webhookTimeoutMs: number
  /** Two organizations may list one email domain unverified (docs/api.md, organization settings). */
  readonly sharedDomains: boolean
  /** Invitation emails go through this SMTP relay; null: written as .eml files to `outboxDir`. */
  readonly smtpUrl: string | null
  readonly outboxDir: string
  /** The page that accepts invitations, `{token}` where the token goes (mail/templates.ts inviteUrl). */
  readonly inviteUrl: string
  /** The product's name in invitation emails. */
  readonly productName: string
  /** The From of invitation emails. */
  readonly mailFrom: string
  readonly invitationTtlDays: number
  /** Most invitation emails one organization is sent in any hour (0: no cap; mail/mailer.ts). */
  readonly invitationsPerHour: number
  /** Send invitation emails from the server (`roster worker` sends them otherwise). */
  readonly mailWorker: boolean
  /** GET /metrics answers requests with this bearer token (http/metrics.ts); null: not on the main port. */
  readonly metricsToken: string | null
  /** GET /metrics, without a token, on this port of its own (bound to HOST); null: none. */
  readonly metricsPort: number | null
  /** A label per organization on request metrics (one series per organization: mind the cardinality). */
  readonly metricsOrgLabel: boolean
  /** One JSON log line per request at level info (http/access-log.ts). */
  readonly requestLog: boolean
  /** SIGTERM/SIGINT: how long /readyz fails while the server still answers, before its port closes. */
  readonly shutdownDrainMs: number
  /** SIGTERM/SIGINT: longest wait for in-flight requests and background work before the process exits anyway. */
  readonly shutdownTimeoutMs: number
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`ROSTER_ERR_CONFIG_${name}`, `${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  return n
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '' || raw === '0') return false
  if (raw === '1') return true
  throw new ConfigError(`ROSTER_ERR_CONFIG_${name}`, `${name} must be 1 or 0, got "${raw}"`)
}

/** ROSTER_TRUSTED_PROXIES: comma-separated IPv4 or IPv6 addresses, each with an optional /prefix. */
function trustedProxies(raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const entry of list) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    const bits = family === 4 ? 32 : 128
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits)
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_TRUSTED_PROXIES', `ROSTER_TRUSTED_PROXIES must list addresses or CIDR ranges (e.g. 10.0.0.5,10.1.0.0/16), got "${entry}"`)
    }
  }
  return list
}

/** ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE: both or neither (the files are read at start, http/tls.ts). */
function tlsFiles(env: NodeJS.ProcessEnv): TlsFiles | null {
  const cert = env.ROSTER_TLS_CERT_FILE === undefined || env.ROSTER_TLS_CERT_FILE.trim() === '' ? null : env.ROSTER_TLS_CERT_FILE
  const key = env.ROSTER_TLS_KEY_FILE === undefined || env.ROSTER_TLS_KEY_FILE.trim() === '' ? null : env.ROSTER_TLS_KEY_FILE
  if (cert === null && key === null) return null
  const both = 'set both (PEM files: the certificate, followed by its chain, and its private key) to serve HTTPS, or neither to serve plain HTTP behind a TLS proxy'
  if (cert === null) throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_TLS_CERT_FILE', `ROSTER_TLS_KEY_FILE is set but ROSTER_TLS_CERT_FILE is not: ${both}`)
  if (key === null) throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_TLS_KEY_FILE', `ROSTER_TLS_CERT_FILE is set but ROSTER_TLS_KEY_FILE is not: ${both}`)
  return { certFile: resolve(cert), keyFile: resolve(key) }
}

export function parseDatabaseUrl(raw: string | undefined, allowFsyncOff = false): DatabaseConfig {
  const url = raw === undefined || raw === '' ? 'sqlite:./data/roster.db' : raw
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw new ConfigError('ROSTER_ERR_CONFIG_DB_URL', 'ROSTER_DATABASE_URL=sqlite: needs a file path, e.g. sqlite:./data/roster.db')
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) }
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url, allowFsyncOff }
  throw new ConfigError('ROSTER_ERR_CONFIG_DB_URL', 'ROSTER_DATABASE_URL must start with sqlite: or postgres://')
}

/** `outbox` beside the SQLite database file (`data/outbox` for the default); `./data/outbox` otherwise. */
function defaultOutbox(db: DatabaseConfig): string {
  return db.kind === 'sqlite' && db.path !== ':memory:' ? join(dirname(db.path), 'outbox') : resolve('./data/outbox')
}

function mailConfig(env: NodeJS.ProcessEnv, db: DatabaseConfig) {
  const smtpUrl = env.ROSTER_SMTP_URL === undefined || env.ROSTER_SMTP_URL === '' ? null : env.ROSTER_SMTP_URL
  if (smtpUrl !== null && !/^smtps?:\/\/[^/?#]/.test(smtpUrl)) {
    // The URL may hold a password: it is never repeated.
    throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_SMTP_URL', 'ROSTER_SMTP_URL must be smtp://host:port or smtps://user:password@host:465')
  }
  const template = env.ROSTER_INVITE_URL === undefined || env.ROSTER_INVITE_URL === '' ? DEFAULT_INVITE_URL : env.ROSTER_INVITE_URL
  try {
    inviteUrl(template, 'roster_inv_check')
  } catch (e) {
    throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_INVITE_URL', `ROSTER_INVITE_URL must be an absolute http(s) URL containing {token}, got "${template}" (${(e as Error).message})`)
  }
  const line = (name: string, fallback: string): string => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    if (/[\r\n]/.test(raw) || raw.length > 200) throw new ConfigError(`ROSTER_ERR_CONFIG_${name}`, `${name} must be one line of at most 200 characters`)
    return raw.trim()
  }
  const mailFrom = line('ROSTER_MAIL_FROM', 'Roster <no-reply@localhost>')
  if (parseMailbox(mailFrom) === null) throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_MAIL_FROM', `ROSTER_MAIL_FROM must be one address or "Name <address>", e.g. "Acme <no-reply@acme.com>", got "${mailFrom}"`)
  return {
    smtpUrl,
    outboxDir: env.ROSTER_OUTBOX_DIR ? resolve(env.ROSTER_OUTBOX_DIR) : defaultOutbox(db),
    inviteUrl: template,
    productName: line('ROSTER_PRODUCT_NAME', 'Roster'),
    mailFrom,
    invitationTtlDays: int(env, 'ROSTER_INVITATION_TTL_DAYS', 7, 1, 90),
    invitationsPerHour: int(env, 'ROSTER_INVITATIONS_PER_HOUR', 1_000, 0, 1_000_000),
    mailWorker: !flag(env, 'ROSTER_NO_MAIL_WORKER'),
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function logLevel(raw: string | undefined): string {
  if (raw === undefined || raw === '') return 'info'
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError('ROSTER_ERR_CONFIG_LOG_LEVEL', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`)
  return raw
}

function opsConfig(env: NodeJS.ProcessEnv) {
  const token = env.ROSTER_METRICS_TOKEN === undefined || env.ROSTER_METRICS_TOKEN === '' ? null : env.ROSTER_METRICS_TOKEN
  // The token is never repeated in the message.
  if (token !== null && (token.length < 16 || /\s/.test(token))) throw new ConfigError('ROSTER_ERR_CONFIG_ROSTER_METRICS_TOKEN', 'ROSTER_METRICS_TOKEN must be at least 16 characters without spaces')
  const port = int(env, 'ROSTER_METRICS_PORT', 0, 0, 65_535)
  return {
    metricsToken: token,
    metricsPort: port === 0 ? null : port,
    metricsOrgLabel: flag(env, 'ROSTER_METRICS_ORG_LABEL'),
    requestLog: env.ROSTER_REQUEST_LOG === undefined || env.ROSTER_REQUEST_LOG === '' || flag(env, 'ROSTER_REQUEST_LOG'),
    shutdownDrainMs: int(env, 'ROSTER_SHUTDOWN_DRAIN_MS', 0, 0, 300_000),
    shutdownTimeoutMs: int(env, 'ROSTER_SHUTDOWN_TIMEOUT_MS', 25_000, 1_000, 600_000),
  }
}

/** Reads the configuration from `env`; throws ConfigError with a stable code. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const requestTimeoutMs = int(env, 'ROSTER_REQUEST_TIMEOUT_MS', 20_000, 1_000, 25_000)
  const database = parseDatabaseUrl(env.ROSTER_DATABASE_URL, flag(env, 'ROSTER_POSTGRES_ALLOW_FSYNC_OFF'))
  return Object.freeze({
    host: env.HOST && env.HOST !== '' ? env.HOST : '127.0.0.1',
    port: int(env, 'PORT', 8080, 0, 65_535),
    tls: tlsFiles(env),
    database,
    publicUrl: env.ROSTER_PUBLIC_URL ? env.ROSTER_PUBLIC_URL.replace(/\/+$/, '') : null,
    allowedHosts: env.ROSTER_ALLOWED_HOSTS ? env.ROSTER_ALLOWED_HOSTS.split(',').map((h) => h.trim()).filter((h) => h !== '') : LOOPBACK_HOSTS,
    limits: Object.freeze({
      ...DEFAULT_LIMITS,
      maxBodyBytes: int(env, 'ROSTER_MAX_BODY_BYTES', DEFAULT_LIMITS.maxBodyBytes, 1024, 64 * 1024 * 1024),
      maxResults: int(env, 'ROSTER_MAX_RESULTS', DEFAULT_LIMITS.maxResults, 1, 100_000),
      maxBulkOperations: int(env, 'ROSTER_MAX_BULK_OPERATIONS', DEFAULT_LIMITS.maxBulkOperations, 1, 100_000),
    }),
    rateLimits: Object.freeze({
      tokenPerSecond: int(env, 'ROSTER_RATE_LIMIT_TOKEN', 500, 0, 10_000_000),
      orgPerSecond: int(env, 'ROSTER_RATE_LIMIT_ORG', 1_000, 0, 10_000_000),
      burstSeconds: int(env, 'ROSTER_RATE_LIMIT_BURST_SECONDS', 2, 1, 60),
    }),
    authFailuresPerMinute: int(env, 'ROSTER_AUTH_FAILURES_PER_MINUTE', 100, 0, 1_000_000),
    trustedProxies: trustedProxies(env.ROSTER_TRUSTED_PROXIES),
    requestDeadlineMs: int(env, 'ROSTER_REQUEST_DEADLINE_MS', Math.min(15_000, requestTimeoutMs), 100, requestTimeoutMs),
    requestTimeoutMs,
    headersTimeoutMs: Math.min(requestTimeoutMs, int(env, 'ROSTER_HEADERS_TIMEOUT_MS', 10_000, 500, 25_000)),
    keepAliveTimeoutMs: int(env, 'ROSTER_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    logLevel: logLevel(env.LOG_LEVEL),
    migrate: env.ROSTER_NO_MIGRATE !== '1',
    sqliteReadWorkers: int(env, 'ROSTER_SQLITE_READ_WORKERS', 0, 0, 16),
    sqliteCacheMiB: int(env, 'ROSTER_SQLITE_CACHE_MIB', 16, 1, 1_024),
    dbPoolSize: int(env, 'ROSTER_DB_POOL_SIZE', 16, 1, 1_000),
    logRetentionDays: int(env, 'ROSTER_LOG_RETENTION_DAYS', 30, 1, 3_650),
    eventRetentionDays: int(env, 'ROSTER_EVENT_RETENTION_DAYS', 30, 1, 3_650),
    webhookAllowPrivate: flag(env, 'ROSTER_WEBHOOK_ALLOW_PRIVATE'),
    webhookWorker: !flag(env, 'ROSTER_NO_WEBHOOK_WORKER'),
    webhookTimeoutMs: int(env, 'ROSTER_WEBHOOK_TIMEOUT_MS', 15_000, 500, 30_000),
    sharedDomains: flag(env, 'ROSTER_SHARED_DOMAINS'),
    ...mailConfig(env, database),
    ...opsConfig(env),
  })
}
