// Makes PostgreSQL reachable for the store matrix: uses TEST_DATABASE_URL when set, otherwise
// starts a throwaway cluster with the machine's initdb/pg_ctl on a spare port, and stops it
// after the run. Without PostgreSQL binaries the PostgreSQL half is skipped (and says so).
import { createCluster, postgresBin } from './helpers/pg-cluster.ts'

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env.TEST_DATABASE_URL) return undefined
  if (process.env.ROSTER_TEST_NO_POSTGRES === '1') return undefined
  const bin = postgresBin()
  if (!bin) {
    console.warn('[roster tests] PostgreSQL binaries not found: running the SQLite half only')
    return undefined
  }
  const cluster = await createCluster(bin)
  process.env.TEST_DATABASE_URL = cluster.url
  return () => cluster.destroy()
}
