// Every environment variable Roster reads, with its default and meaning: the one list that
// docs/configuration.md is generated from (`npm run docs:config`) and that src/config-vars.test.ts
// holds against the names src/config.ts and bin/roster.js really read, so the table cannot drift.

export interface EnvVar {
  readonly name: string
  /** The default as a reader would write it; '' when unset means off or none. */
  readonly default: string
  readonly description: string
  readonly group: 'server' | 'database' | 'limits' | 'workers' | 'invitations' | 'operations'
}

export const ENV_VARS: readonly EnvVar[] = [
  { group: 'server', name: 'HOST', default: '127.0.0.1', description: 'Address to listen on (`0.0.0.0`: every interface). Beyond loopback, plain HTTP (neither `ROSTER_TLS_CERT_FILE` nor `ROSTER_TRUSTED_PROXIES`) is served with a warning at start (`docs/security.md`, "TLS").' },
  { group: 'server', name: 'PORT', default: '8080', description: 'Port to listen on (0: any free port); HTTPS with `ROSTER_TLS_CERT_FILE`, plain HTTP otherwise.' },
  { group: 'server', name: 'ROSTER_TLS_CERT_FILE', default: '', description: 'PEM file of the server\'s certificate, followed by its chain. With `ROSTER_TLS_KEY_FILE` (both or neither), Roster serves HTTPS itself on `PORT`: TLS 1.2 and 1.3 only, Entra ID\'s cipher suites and no weak one (`docs/security.md`, "TLS"). Both files are read again on SIGHUP, so a renewed certificate needs no restart. Unset: plain HTTP, for a proxy that terminates TLS.' },
  { group: 'server', name: 'ROSTER_TLS_KEY_FILE', default: '', description: 'PEM file of that certificate\'s private key, unencrypted (readable by the server\'s user only).' },
  { group: 'server', name: 'ROSTER_PUBLIC_URL', default: '', description: 'Base URL identity providers reach, e.g. `https://roster.example.com`, behind a proxy; tenant URLs and `meta.location` use it.' },
  { group: 'server', name: 'ROSTER_ALLOWED_HOSTS', default: 'loopback names', description: 'Without `ROSTER_PUBLIC_URL`: comma-separated `Host` headers (host or host:port) answers may name; any other is ignored and answers name `http://HOST:PORT` (never an unchecked header: host-header injection).' },
  { group: 'server', name: 'ROSTER_REQUEST_TIMEOUT_MS', default: '20000', description: 'How long a whole request (headers and body) may take to arrive, 1,000–25,000 ms (under identity providers\' client timeouts): then 408 and the connection is closed.' },
  { group: 'server', name: 'ROSTER_HEADERS_TIMEOUT_MS', default: '10000', description: 'How long a request\'s headers may take to arrive, 500–25,000 ms (never more than the request timeout): a client sending them slowly is answered 408 and disconnected (`docs/security.md`).' },
  { group: 'server', name: 'ROSTER_KEEP_ALIVE_TIMEOUT_MS', default: '5000', description: 'How long an idle keep-alive connection stays open, 100–600,000 ms (behind a load balancer, longer than its idle timeout).' },
  { group: 'server', name: 'ROSTER_REQUEST_DEADLINE_MS', default: '15000', description: 'How long a SCIM or `/api/v1` request may take to be answered (100 up to the request timeout): then 503 with `Retry-After`, and its work is abandoned (`docs/security.md`).' },
  { group: 'server', name: 'ROSTER_RATE_LIMIT_TOKEN', default: '500', description: 'Requests a second per SCIM token, and per API key or console account on `/api/v1` (0: no limit); beyond it 429 with `Retry-After` and `RateLimit` headers (`docs/security.md`).' },
  { group: 'server', name: 'ROSTER_RATE_LIMIT_ORG', default: '1000', description: 'Requests a second per organization, all its tokens together on SCIM and all its API keys together on `/api/v1`, each surface apart (0: no limit).' },
  { group: 'server', name: 'ROSTER_RATE_LIMIT_BURST_SECONDS', default: '2', description: 'A quiet client may send this many seconds of its rate at once (1–60).' },
  { group: 'server', name: 'ROSTER_AUTH_FAILURES_PER_MINUTE', default: '100', description: 'Failed authentications (unknown or malformed SCIM tokens and API keys) one address may have within a minute (0: no limit, up to 1,000,000); past it every request from that address is 429 with `Retry-After` before its credential is looked up. Counted per process, by the connection\'s address (`docs/security.md`, "Token guessing").' },
  { group: 'server', name: 'ROSTER_TRUSTED_PROXIES', default: '', description: 'Behind a reverse proxy or load balancer: its addresses or CIDR ranges, comma-separated (`10.0.0.5,10.1.0.0/16`). Requests from them are counted for `ROSTER_AUTH_FAILURES_PER_MINUTE` by the client address their `X-Forwarded-For` names; without it every client behind the proxy is one address (`docs/security.md`, "Token guessing"). Also the operator\'s word that TLS ends at that proxy: no plain-HTTP warning at start.' },
  { group: 'server', name: 'LOG_LEVEL', default: 'info', description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' },
  { group: 'database', name: 'ROSTER_DATABASE_URL', default: 'sqlite:./data/roster.db', description: '`sqlite:PATH` (created; the provisioning log of reads and failures goes to `PATH` with `-log` before its extension: `roster backup` copies both) or `postgres://user:password@host:5432/db`.' },
  { group: 'database', name: 'ROSTER_NO_MIGRATE', default: '', description: '`1`: do not migrate at start (run `roster migrate`).' },
  { group: 'database', name: 'ROSTER_SQLITE_READ_WORKERS', default: '0', description: 'SQLite: worker threads for reads that may scan, 0–16; with several organizations set 2 or more (a scan on the event loop cannot be stopped at its deadline; `docs/security.md`).' },
  { group: 'database', name: 'ROSTER_SQLITE_CACHE_MIB', default: '16', description: 'SQLite: the writer connection\'s page cache, 1–1,024 MiB. Membership changes insert at random places in two indexes: with a cache smaller than what one write batch touches, SQLite spills pages mid-transaction and writes them twice (`docs/storage.md`).' },
  { group: 'database', name: 'ROSTER_DB_POOL_SIZE', default: '16', description: 'PostgreSQL: connections per server, 1–1,000.' },
  { group: 'database', name: 'ROSTER_POSTGRES_ALLOW_FSYNC_OFF', default: '', description: '`1`: start on a PostgreSQL server running with `fsync=off` (a throwaway test database), with a warning; otherwise Roster refuses (`ROSTER_ERR_DB_NOT_DURABLE`): such a server can lose commits it acknowledged (`docs/storage.md`).' },
  { group: 'limits', name: 'ROSTER_MAX_BODY_BYTES', default: '1048576', description: 'Largest request body, 1 KiB–64 MiB (413 beyond).' },
  { group: 'limits', name: 'ROSTER_MAX_BULK_OPERATIONS', default: '1000', description: 'Most operations in one `POST /Bulk` (413 `tooMany` beyond; its `maxPayloadSize` is `ROSTER_MAX_BODY_BYTES`).' },
  { group: 'limits', name: 'ROSTER_MAX_RESULTS', default: '1000', description: 'Most resources in one list page, 1–100,000.' },
  { group: 'limits', name: 'ROSTER_LOG_RETENTION_DAYS', default: '30', description: 'Days a provisioning-log row is kept, 1–3,650.' },
  { group: 'limits', name: 'ROSTER_EVENT_RETENTION_DAYS', default: '30', description: 'Days an event stays in the feed, 1–3,650.' },
  { group: 'limits', name: 'ROSTER_SHARED_DOMAINS', default: '', description: '`1`: two organizations may list one email domain unverified.' },
  { group: 'workers', name: 'ROSTER_NO_WEBHOOK_WORKER', default: '', description: '`1`: this server does not deliver webhooks (`roster worker` does).' },
  { group: 'workers', name: 'ROSTER_WEBHOOK_TIMEOUT_MS', default: '15000', description: 'Longest wait for a webhook receiver, 500–30,000 ms.' },
  { group: 'workers', name: 'ROSTER_WEBHOOK_ALLOW_PRIVATE', default: '', description: '`1`: webhooks may go to loopback, link-local and private addresses.' },
  { group: 'workers', name: 'ROSTER_NO_MAIL_WORKER', default: '', description: '`1`: this server does not send invitation emails (`roster worker` does).' },
  { group: 'invitations', name: 'ROSTER_SMTP_URL', default: '', description: '`smtp://host:port` or `smtps://user:password@host:465`; unset: `.eml` files in the outbox.' },
  { group: 'invitations', name: 'ROSTER_OUTBOX_DIR', default: '`outbox` beside the SQLite file', description: 'Where `.eml` files go without `ROSTER_SMTP_URL`.' },
  { group: 'invitations', name: 'ROSTER_INVITE_URL', default: 'http://localhost:8080/invitations/accept?token={token}', description: 'Your application\'s page that accepts invitations, with `{token}`.' },
  { group: 'invitations', name: 'ROSTER_PRODUCT_NAME', default: 'Roster', description: 'The product\'s name in invitation emails.' },
  { group: 'invitations', name: 'ROSTER_MAIL_FROM', default: 'Roster <no-reply@localhost>', description: 'The From of invitation emails.' },
  { group: 'invitations', name: 'ROSTER_INVITATION_TTL_DAYS', default: '7', description: 'Days an invitation stays valid, 1–90.' },
  { group: 'invitations', name: 'ROSTER_INVITATIONS_PER_HOUR', default: '1000', description: 'Most invitation emails one organization is sent in any hour, 0–1,000,000 (0: no cap); the rest stay queued until the hour has room, and SCIM requests are never slowed or refused for it. Counted in the database, so every server on it shares the cap (`docs/policies.md`).' },
  { group: 'operations', name: 'ROSTER_METRICS_TOKEN', default: '', description: '`GET /metrics` on the server\'s port with this bearer token (16+ characters).' },
  { group: 'operations', name: 'ROSTER_METRICS_PORT', default: '', description: '`GET /metrics` without a token on this port of its own, bound to `HOST`; plain HTTP even with `ROSTER_TLS_CERT_FILE` (keep it off the network identity providers reach).' },
  { group: 'operations', name: 'ROSTER_METRICS_ORG_LABEL', default: '', description: '`1`: an `organization` label on request metrics (one series per organization).' },
  { group: 'operations', name: 'ROSTER_REQUEST_LOG', default: '1', description: '`0`: no JSON line per request (other log lines stay).' },
  { group: 'operations', name: 'ROSTER_SHUTDOWN_DRAIN_MS', default: '0', description: 'On SIGTERM, how long `/readyz` fails while the server still answers, before its port closes.' },
  { group: 'operations', name: 'ROSTER_SHUTDOWN_TIMEOUT_MS', default: '25000', description: 'On SIGTERM, the longest the whole shutdown may take (drain included) before the process exits 1.' },
  { group: 'operations', name: 'ROSTER_BUILD_DIR', default: 'a folder under the system\'s temporary folder', description: 'Where `bin/roster.js` builds the bundle when `src/` is newer than `dist/` (never the code\'s folder).' },
]

const TITLES: Record<EnvVar['group'], string> = {
  server: 'Server', database: 'Database', limits: 'Limits and retention', workers: 'Background workers', invitations: 'Invitation emails', operations: 'Operations',
}

/** docs/configuration.md. */
export function configurationDoc(): string {
  const cell = (v: string) => v.replace(/\|/g, '\\|')
  const parts = [
    '# Configuration',
    '',
    'Every environment variable Roster reads. Generated from `src/config-vars.ts` by `npm run docs:config`;',
    'a test fails when the two differ. Values are checked at start: a bad one stops the server with',
    'an error naming the variable (`docs/errors.md`); `roster config check` checks them without starting.',
  ]
  for (const group of Object.keys(TITLES) as EnvVar['group'][]) {
    parts.push('', `## ${TITLES[group]}`, '', '| variable | default | meaning |', '|---|---|---|')
    for (const v of ENV_VARS.filter((e) => e.group === group)) {
      const def = v.default === '' ? 'unset' : v.default.startsWith('`') || /\s/.test(v.default) ? cell(v.default) : `\`${cell(v.default)}\``
      parts.push(`| \`${v.name}\` | ${def} | ${cell(v.description)} |`)
    }
  }
  return `${parts.join('\n')}\n`
}
