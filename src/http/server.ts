// Runs the server: opens the store, builds the app, listens, and closes cleanly on a signal.
import { uuidV7Generator } from '../ids.ts'
import type { Config } from '../config.ts'
import type { Deps } from '../provisioning/deps.ts'
import { mailerSettings } from '../mail/mailer.ts'
import { openStore } from '../store/open.ts'
import { buildApp } from './app.ts'

export async function serve(config: Config): Promise<{ url: string; close: () => Promise<void> }> {
  const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: config.sqliteReadWorkers, poolSize: config.dbPoolSize })
  const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits }
  const app = await buildApp({
    deps, config, webhooks: config.webhookWorker ? { timeoutMs: config.webhookTimeoutMs } : false,
    ...(config.mailWorker ? { mailer: mailerSettings(config) } : {}),
  })
  const address = await app.listen({ host: config.host, port: config.port })
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
