// Runs the server: opens the store, builds the app, listens, and closes cleanly on a signal.
import { uuidV7Generator } from '../ids.ts'
import { ConfigError, type Config } from '../config.ts'
import type { Deps } from '../provisioning/deps.ts'
import { mailerSettings } from '../mail/mailer.ts'
import { openStore } from '../store/open.ts'
import { recordServerBase } from '../ops/public-url.ts'
import { buildApp } from './app.ts'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_POLICY, setupLinkIfNoAccount } from '../console/accounts.ts'
import { linkUrl } from '../console/mail.ts'
import { transportFromConfig } from '../mail/transport.ts'
import { plainHttpWarning, readTlsFiles, reloadOnSighup, watchExpiry, type TlsPair } from './tls.ts'

/** The built console (console/dist), found from this file: the source (src/http) or the bundle (dist/). */
export function consoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir)
  return join(dir, 'console', 'dist')
}
import Fastify, { type FastifyInstance } from 'fastify'
import { metricsRoute, type Metrics } from './metrics.ts'

/** A failed listen as a ConfigError the CLI prints with its code (docs/errors.md). */
function listenError(e: unknown, config: Config): unknown {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  const where = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
  if (code === 'EADDRINUSE') return new ConfigError('ROSTER_ERR_PORT_IN_USE', `${where} is in use by another process: stop it, or set PORT to a free port`)
  if (code === 'EACCES') return new ConfigError('ROSTER_ERR_PORT_DENIED', `${where} may not be opened by this user (ports below 1024 need privileges): set PORT to 1024 or above`)
  if (code === 'EADDRNOTAVAIL') return new ConfigError('ROSTER_ERR_HOST_UNAVAILABLE', `HOST ${config.host} is not an address of this machine`)
  return e
}

/** GET /metrics without a token on a port of its own (ROSTER_METRICS_PORT). */
async function metricsListener(metrics: Metrics, config: Config): Promise<FastifyInstance> {
  const server = Fastify({ logger: false })
  metricsRoute(server, metrics, null)
  await server.listen({ host: config.host, port: config.metricsPort ?? 0 })
  return server
}

export async function serve(config: Config): Promise<{ url: string; close: () => Promise<void> }> {
  // A missing or bad certificate stops the start before anything opens (docs/errors.md).
  const tls = config.tls === null ? null : readTlsFiles(config.tls)
  const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: config.sqliteReadWorkers, sqliteCacheMiB: config.sqliteCacheMiB, poolSize: config.dbPoolSize })
  const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits }
  const app = await buildApp({
    deps, config, webhooks: config.webhookWorker ? { timeoutMs: config.webhookTimeoutMs } : false,
    ...(config.mailWorker ? { mailer: mailerSettings(config) } : {}),
    consoleMail: { transport: transportFromConfig({ smtpUrl: config.smtpUrl, outboxDir: config.outboxDir }), from: config.mailFrom, productName: config.productName },
    consoleDir: consoleDir(),
    ...(tls ? { tls } : {}),
    ...(config.metricsToken !== null || config.metricsPort !== null ? { metrics: { token: config.metricsToken, orgLabel: config.metricsOrgLabel } } : {}),
  })
  let address: string
  let metricsServer: FastifyInstance | null = null
  try {
    address = await app.listen({ host: config.host, port: config.port })
    if (config.metricsPort !== null && app.metrics !== null) metricsServer = await metricsListener(app.metrics, config)
  } catch (e) {
    // Nothing may keep the process alive after a failed start (the store's workers and timers did).
    await app.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    throw listenError(e, config.metricsPort !== null && app.server.listening ? { ...config, port: config.metricsPort } : config)
  }
  // A certificate near its end is said so at start, daily and at each reload; a renewed one is
  // served from the next SIGHUP on (http/tls.ts).
  let served = tls
  const expiry = served === null ? null : watchExpiry(() => served as TlsPair, app.log, deps.now)
  const stopReloading = config.tls === null || expiry === null ? () => undefined : reloadOnSighup(app.server, config.tls, app.log, (pair) => {
    served = pair
    expiry.check()
  })
  let closing: Promise<void> | null = null
  // Stop accepting; answer the requests in flight (new ones on open connections get a 503);
  // then stop the workers (webhook leases handed back, the mailer's cursor stored), write the
  // log appender's rows, and close the store once its last write batch has committed.
  const close = () => {
    closing ??= (async () => {
      stopReloading()
      expiry?.stop()
      await metricsServer?.close()
      await app.close()
      await store.close()
    })()
    return closing
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal, drainMs: config.shutdownDrainMs, timeoutMs: config.shutdownTimeoutMs }, 'shutting down')
      app.draining = true
      const deadline = setTimeout(() => {
        app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown did not finish within ROSTER_SHUTDOWN_TIMEOUT_MS; exiting')
        process.exit(1)
      }, config.shutdownTimeoutMs)
      deadline.unref()
      // A connection the kernel accepted but the server had not yet taken when its port closes is
      // reset: while /readyz fails, load balancers stop sending, and then the port closes.
      new Promise((r) => setTimeout(r, config.shutdownDrainMs)).then(close).then(() => {
        app.log.info('stopped')
        process.exit(0)
      }, (e: unknown) => {
        app.log.error({ err: e }, 'shutdown failed')
        process.exit(1)
      })
    })
  }
  // Once, at start: plain HTTP beyond loopback with no TLS proxy said to be in front (docs/security.md, "TLS").
  const plain = plainHttpWarning(config)
  if (plain !== null) app.log.warn({ host: config.host }, plain)
  const where = config.database.kind === 'sqlite' ? config.database.path : 'PostgreSQL'
  // The base URL identity providers are given, for `roster org create` in another process (ops/public-url.ts).
  await recordServerBase(store, config, address, deps.now()).catch((e: unknown) => {
    app.log.warn({ err: e }, 'could not record the public URL for roster org create')
  })
  app.log.info({ address, database: config.database.kind, ...(metricsServer ? { metricsPort: config.metricsPort } : {}) },
    `Roster listening on ${address}; SCIM tenant URL ${config.publicUrl ?? address}/scim/v2; data in ${where}; stop with Ctrl-C or SIGTERM`)
  // A fresh install: a one-time link that creates the operator's console account (docs/console.md).
  const setup = await setupLinkIfNoAccount(deps, DEFAULT_POLICY)
  if (setup) {
    const url = linkUrl(config.publicUrl ?? address, setup.token, true)
    app.log.warn({ expiresAt: setup.expiresAt.toISOString() }, 'No console account yet: the one-time setup link is printed on standard error')
    process.stderr.write(`\nRoster console setup (one-time link, valid 24 hours): ${url}\n\n`)
  }
  return { url: address, close }
}
