// Runs the server: opens the store, builds the app, listens, and closes cleanly on a signal.
import { uuidV7Generator } from '../ids.ts'
import { ConfigError, type Config } from '../config.ts'
import type { Deps } from '../provisioning/deps.ts'
import { mailerSettings } from '../mail/mailer.ts'
import { openStore } from '../store/open.ts'
import { buildApp } from './app.ts'

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
  return { url: address, close }
}
