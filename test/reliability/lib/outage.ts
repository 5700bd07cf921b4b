// PostgreSQL stopped under load (docs/architecture.md DUR-8): a Roster server on its own
// cluster, 8 clients writing and reading; the cluster is stopped (`pg_ctl stop -m fast`, which
// cuts every connection), kept down, and started again, while Roster keeps running. Every
// answer is recorded by phase: during the outage each must be a 503 with Retry-After and a SCIM
// error body; after the database returns, requests must succeed again without a restart, and
// every write acknowledged before, during or after is there.
import { randomBytes } from 'node:crypto'
import type { Cluster } from '../../helpers/pg-cluster.ts'
import { call, cli, startServer } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

export interface OutageReport {
  /** Status counts (and whether Retry-After was set) per phase. */
  phases: Record<'before' | 'down' | 'after', Record<string, number>>
  /** Answers during the outage that were not a 503 with Retry-After and a SCIM error body. */
  badDuringOutage: string[]
  /** Milliseconds from `pg_ctl start` returning to Roster's first 2xx. */
  recoveryMs: number | null
  acknowledged: number
  missing: string[]
  rosterRestarted: boolean
}

export async function runOutage(cluster: Cluster, downMs: number): Promise<OutageReport> {
  const server = await startServer(cluster.url)
  const pid = server.proc.pid
  try {
    const org = await cli(cluster.url, 'org', 'create', `outage-${randomBytes(4).toString('hex')}`)
    const token = String(org.token)
    let phase: 'before' | 'down' | 'after' = 'before'
    const report: OutageReport = { phases: { before: {}, down: {}, after: {} }, badDuringOutage: [], recoveryMs: null, acknowledged: 0, missing: [], rosterRestarted: false }
    const acked: string[] = []
    let restartedAt = 0
    let stop = false
    const client = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const at = phase
        const write = n % 2 === 0
        const userName = `o${w}-${n}-${randomBytes(3).toString('hex')}@outage.example`
        let status = 'error'
        try {
          const r = write
            ? await call(server.base, 'POST', '/scim/v2/Users', token, { schemas: [USER], userName })
            : await call(server.base, 'GET', '/scim/v2/Users?count=5', token)
          const retry = r.headers.get('retry-after')
          status = `${r.status}${retry ? ` retry-after=${retry}` : ''}`
          if (at === 'down' && phase === 'down' && (r.status !== 503 || !retry || r.json.status !== '503')) report.badDuringOutage.push(`${write ? 'POST' : 'GET'} -> ${r.status} ${r.text.slice(0, 200)}`)
          if (write && r.status === 201) acked.push(userName)
          if (phase === 'after' && r.status < 300 && report.recoveryMs === null) report.recoveryMs = Date.now() - restartedAt
        } catch (e) {
          status = `connection error: ${(e as Error).message}`
        }
        report.phases[at][status] = (report.phases[at][status] ?? 0) + 1
        if (phase === 'down') await new Promise((r) => setTimeout(r, 50))
      }
    }
    const clients = Array.from({ length: 8 }, (_, w) => client(w))
    await new Promise((r) => setTimeout(r, 1_500))
    cluster.stop()
    phase = 'down'
    await new Promise((r) => setTimeout(r, downMs))
    cluster.start()
    restartedAt = Date.now()
    phase = 'after'
    await new Promise((r) => setTimeout(r, 3_000))
    stop = true
    await Promise.all(clients)
    report.rosterRestarted = server.proc.pid !== pid || server.proc.exitCode !== null
    report.acknowledged = acked.length
    for (const userName of acked) {
      // The lookups of a fast run outpace the token's rate limit: a 429 is waited out, not "missing".
      let r = await call(server.base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, token)
      while (r.status === 429) {
        await new Promise((ok) => setTimeout(ok, 1000 * Math.max(1, Number(r.headers.get('retry-after')) || 1)))
        r = await call(server.base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, token)
      }
      if (r.json.totalResults !== 1) report.missing.push(userName)
    }
    return report
  } finally {
    await server.kill('SIGTERM')
  }
}
