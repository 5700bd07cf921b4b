// Runs the server: opens the store, builds the app, listens, and closes cleanly on a signal.
import { uuidV7Generator } from '../ids.ts'
import { ConfigError, type Config } from '../config.ts'
import type { Deps } from '../provisioning/deps.ts'
import { mailerSettings } from '../mail/mailer.ts'
import { openStore } from '../store/open.ts'
import { buildApp } from './app.ts'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_POLICY, setupLinkIfNoAccount } from '../console/accounts.ts'
import { linkUrl } from '../console/mail.ts'
import { transportFromConfig } from '../mail/transport.ts'

/** The built console (console/dist), found from this file: the source (src/http) or the bundle (dist/). */
export function consoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir)
  return join(dir, 'console', 'dist')
}

/** A failed listen as a ConfigError the CLI prints with its code (docs/errors.md). */
function listenError(e: unknown, config: Config): unknown {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  const where = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
  if (code === 'EADDRINUSE') return new ConfigError('ROSTER_ERR_PORT_IN_USE', `${where} is in use by another process: stop it, or set PORT to a free port`)
  if (code === 'EACCES') return new ConfigError('ROSTER_ERR_PORT_DENIED', `${where} may not be opened by this user (ports below 1024 need privileges): set PORT to 1024 or above`)
  if (code === 'EADDRNOTAVAIL') return new ConfigError('ROSTER_ERR_HOST_UNAVAILABLE', `HOST ${config.host} is not an address of this machine`)
  return e
}

export async function serve(config: Config): Promise<{ url: string; close: () => Promise<void> }> {
  const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: config.sqliteReadWorkers, poolSize: config.dbPoolSize })
  const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits }
  const app = await buildApp({
    deps, config, webhooks: config.webhookWorker ? { timeoutMs: config.webhookTimeoutMs } : false,
    ...(config.mailWorker ? { mailer: mailerSettings(config) } : {}),
    consoleMail: { transport: transportFromConfig({ smtpUrl: config.smtpUrl, outboxDir: config.outboxDir }), from: config.mailFrom, productName: config.productName },
    consoleDir: consoleDir(),
  })
  let address: string
  try {
    address = await app.listen({ host: config.host, port: config.port })
  } catch (e) {
    // Nothing may keep the process alive after a failed start (the store's workers and timers did).
    await app.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    throw listenError(e, config)
  }
  let closing: Promise<void> | null = null
  const close = () => {
    closing ??= (async () => {
      await app.close()
      await store.close()
    })()
    return closing
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down')
      void close().then(() => process.exit(0))
    })
  }
  app.log.info({ address, database: config.database.kind }, `Roster listening; SCIM tenant URL ${address}/scim/v2`)
  // A fresh install: a one-time link that creates the operator's console account (docs/console.md).
  const setup = await setupLinkIfNoAccount(deps, DEFAULT_POLICY)
  if (setup) {
    const url = linkUrl(config.publicUrl ?? address, setup.token, true)
    app.log.warn({ expiresAt: setup.expiresAt.toISOString() }, 'No console account yet: the one-time setup link is printed on standard error')
    process.stderr.write(`\nRoster console setup (one-time link, valid 24 hours): ${url}\n\n`)
  }
  return { url: address, close }
}
