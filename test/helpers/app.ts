// Starts the real Fastify app on a real store for a test, with one organization and its token.
// Its requests (`req`, and api-client.ts's) go through a listening socket of 127.0.0.1 by default,
// as an identity provider's and an application's do: HTTP parsing, headers and bodies on the
// wire included. `transport: 'inject'` uses Fastify's inject instead (no socket).
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type AppOptions } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS, type Deps, type Limits } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import type { TxtResolver } from '../../src/orgs/domains.ts'
import type { OrgId, Store } from '../../src/store/store.ts'
import type { StoreFactory } from './stores.ts'
import { jsonBody } from './json-body.ts'

export const SCIM = '/scim/v2'

export interface TestApp {
  readonly app: FastifyInstance
  readonly store: Store
  readonly deps: Deps
  readonly orgId: OrgId
  readonly token: string
  /** Another organization of the same server, for isolation tests. */
  newOrg(name: string): Promise<{ orgId: OrgId; token: string }>
  /** A SCIM request with this org's token (pass `token: null` for none); paths without /scim/v2 get it. */
  req(method: InjectOptions['method'], path: string, body?: unknown, opts?: { token?: string | null; headers?: Record<string, string> }): Promise<Res>
  /** One request as given, over the app's transport (a socket unless `transport: 'inject'`). */
  send(method: InjectOptions['method'], url: string, headers: Record<string, string>, payload?: string): Promise<Sent>
  close(): Promise<void>
}

export interface Sent {
  readonly status: number
  readonly headers: LightMyRequestResponse['headers']
  readonly body: string
}

export interface Res {
  readonly status: number
  readonly headers: LightMyRequestResponse['headers']
  readonly json: Record<string, unknown> & { Resources?: Record<string, unknown>[] }
  readonly text: string
}

export interface AppTestOptions {
  /** How requests reach the app: a socket of 127.0.0.1 (the default) or Fastify's inject. */
  readonly transport?: 'http' | 'inject'
  /** The clock use cases and the provisioning log see (the real one when absent). */
  readonly now?: () => Date
  readonly logRetentionDays?: number
  /** ROSTER_EVENT_RETENTION_DAYS (30 when absent). */
  readonly eventRetentionDays?: number
  readonly pruneIntervalMs?: number
  /** Run the webhook dispatcher in the app, with these timings, delivering to private addresses (off when absent). */
  readonly webhooks?: Exclude<AppOptions['webhooks'], false | undefined>
  /** Two organizations may list one domain unverified (ROSTER_SHARED_DOMAINS=1). */
  readonly sharedDomains?: boolean
  /** Where domain verification looks TXT records up (a fake, so that tests never query DNS). */
  readonly txtResolver?: TxtResolver
  /** Run the invitation mailer in the app with these settings (off when absent). */
  readonly mailer?: AppOptions['mailer']
  /** The app's log lines at level info go here (silent when absent). */
  readonly logStream?: NodeJS.WritableStream
  /** ROSTER_REQUEST_LOG: a line per request at level info (on when absent). */
  readonly requestLog?: boolean
  /** Metrics on, GET /metrics with this token (http/metrics.ts). */
  readonly metrics?: AppOptions['metrics']
  /** Rate limits of the SCIM surface (none when absent), and how often servers share them. */
  readonly rateLimits?: AppOptions['config']['rateLimits']
  readonly rateLimitSyncMs?: number
  /** Failed authentications a source address may have within a minute (ROSTER_AUTH_FAILURES_PER_MINUTE; none counted when absent). */
  readonly authFailuresPerMinute?: number
  /** ROSTER_TRUSTED_PROXIES: the proxies whose X-Forwarded-For names the client (none when absent). */
  readonly trustedProxies?: readonly string[]
  /** How long a SCIM request may take to be answered (none when absent). */
  readonly requestDeadlineMs?: number
  /** The admin console's emails (none sent when absent). */
  readonly consoleMail?: AppOptions['consoleMail']
  /** Serve the built console from this directory. */
  readonly consoleDir?: string
}

export async function startApp(factory: StoreFactory, limits: Partial<Limits> = {}, opts: AppTestOptions = {}): Promise<TestApp> {
  const { store, cleanup } = await factory.open()
  const deps: Deps = { store, now: opts.now ?? (() => new Date()), newId: uuidV7Generator(), limits: { ...DEFAULT_LIMITS, ...limits } }
  const app = await buildApp({
    deps,
    config: {
      publicUrl: 'https://roster.test', requestTimeoutMs: 20_000, logLevel: opts.logStream ? 'info' : 'silent', webhookAllowPrivate: opts.webhooks !== undefined,
      ...(opts.logRetentionDays ? { logRetentionDays: opts.logRetentionDays } : {}),
      ...(opts.eventRetentionDays ? { eventRetentionDays: opts.eventRetentionDays } : {}),
      ...(opts.sharedDomains ? { sharedDomains: true } : {}),
      ...(opts.requestLog === false ? { requestLog: false } : {}),
      ...(opts.rateLimits ? { rateLimits: opts.rateLimits } : {}),
      ...(opts.authFailuresPerMinute !== undefined ? { authFailuresPerMinute: opts.authFailuresPerMinute } : {}),
      ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
      ...(opts.requestDeadlineMs ? { requestDeadlineMs: opts.requestDeadlineMs } : {}),
    },
    ...(opts.rateLimitSyncMs ? { rateLimitSyncMs: opts.rateLimitSyncMs } : {}),
    ...(opts.txtResolver ? { txtResolver: opts.txtResolver } : {}),
    ...(opts.pruneIntervalMs ? { provisioningLog: { pruneIntervalMs: opts.pruneIntervalMs } } : {}),
    webhooks: opts.webhooks ?? false,
    ...(opts.mailer ? { mailer: opts.mailer } : {}),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.consoleMail ? { consoleMail: opts.consoleMail } : {}),
    ...(opts.consoleDir ? { consoleDir: opts.consoleDir } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  })
  const org = await createOrg(deps, `org-${randomUUID()}`, [])
  const base = opts.transport === 'inject' ? null : await app.listen({ host: '127.0.0.1', port: 0 })
  const send: TestApp['send'] = base === null
    ? async (method, url, headers, payload) => {
      const r = await app.inject({ method, url, headers, payload })
      return { status: r.statusCode, headers: r.headers, body: r.body }
    }
    : async (method, url, headers, payload) => {
      const r = await fetch(`${base}${url}`, { method, headers, body: payload, redirect: 'manual' })
      const out: Record<string, string | string[]> = {}
      r.headers.forEach((value, name) => { out[name] = value })
      const cookies = r.headers.getSetCookie()
      if (cookies.length > 0) out['set-cookie'] = cookies.length === 1 ? cookies[0] as string : cookies
      return { status: r.status, headers: out, body: await r.text() }
    }
  const t: TestApp = {
    app, store, deps, orgId: org.orgId, token: org.token, send,
    newOrg: (name) => createOrg(deps, name, []),
    async req(method, path, body, opts = {}) {
      const token = opts.token === undefined ? org.token : opts.token
      const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.headers ?? {}) }
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/scim+json'
      const url = path.startsWith('/') && !path.startsWith(SCIM) && !/^\/(healthz|readyz|metrics)/.test(path) ? `${SCIM}${path}` : path
      const r = await send(method, url, headers, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body))
      const json = jsonBody(r.body)
      return { status: r.status, headers: r.headers, json, text: r.body }
    },
    async close() {
      await app.close()
      await cleanup()
    },
  }
  return t
}

export function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: userName.includes('@') ? userName : `${userName}@example.com`, type: 'work', primary: true }],
    active: true,
    ...extra,
  }
}

export function patchOp(...ops: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops }
}

/**
 * A write that holds user `id` until released: on SQLite the group committer (its batch waits
 * before COMMIT), on PostgreSQL the user's row lock. Other writes of that user wait behind it.
 * `locked` resolves once it holds (a fixed sleep was not enough on a loaded machine).
 */
export function holdUser(t: TestApp, id: string): { release: () => void; holder: Promise<void>; locked: Promise<void> } {
  let release: () => void = () => undefined
  const held = new Promise<void>((r) => {
    release = r
  })
  let onLocked: () => void = () => undefined
  const locked = new Promise<void>((r) => {
    onLocked = r
  })
  const holder = t.store.write(async (tx) => {
    await tx.getUserForUpdate(t.orgId, id)
    onLocked()
    await held
  })
  return { release, holder, locked }
}
