// The stores a reliability script runs on: a SQLite file, and PostgreSQL from TEST_DATABASE_URL
// or from a throwaway cluster started here (as `npm test` does), stopped at the end.
import { createCluster, postgresBin, type Cluster } from '../../test/helpers/pg-cluster.ts'
import { startApp, type TestApp } from '../../test/helpers/app.ts'
import { storeMatrix, type StoreFactory } from '../../test/helpers/stores.ts'

export async function scriptStores(): Promise<{ stores: StoreFactory[]; adminUrl: string | null; done: () => void }> {
  let cluster: Cluster | null = null
  if (!process.env.TEST_DATABASE_URL && process.env.ROSTER_TEST_NO_POSTGRES !== '1') {
    const bin = postgresBin()
    if (bin) {
      const c = await createCluster(bin)
      cluster = c
      process.env.TEST_DATABASE_URL = c.url
      // Stopped with Ctrl-C or a signal: the throwaway cluster goes too.
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          c.destroy()
          process.exit(130)
        })
      }
    } else {
      console.warn('PostgreSQL binaries not found: SQLite only')
    }
  }
  return { stores: storeMatrix(), adminUrl: process.env.TEST_DATABASE_URL ?? null, done: () => cluster?.destroy() }
}

/** `--name value` or NAME from the environment, as a number. */
export function numberArg(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env]
  const n = raw === undefined ? fallback : Number(raw)
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, not ${raw}`)
  return n
}

/**
 * Runs `body` once a store, with an app started on it and closed after; then exits, 1 when any
 * run returned false (it found problems) or threw.
 */
export async function eachStoreApp(body: (factory: StoreFactory, t: TestApp) => Promise<boolean>): Promise<never> {
  const { stores, done } = await scriptStores()
  let failed = false
  try {
    for (const factory of stores) {
      const t = await startApp(factory)
      try {
        if (!(await body(factory, t))) failed = true
      } finally {
        await t.close()
      }
    }
  } finally {
    done()
  }
  process.exit(failed ? 1 : 0)
}
