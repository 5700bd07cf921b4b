// Probes for orchestrators (docs/operations.md, Kubernetes probes):
//   GET /healthz  liveness: the process answers HTTP. It does not ask the database, so that an
//                 outage of the database does not get every server restarted (it answers 503
//                 only while the server closes).
//   GET /readyz   readiness: the database answers, every migration this version knows is
//                 applied, and the background workers this server runs are running. 503 with
//                 the failing checks otherwise, so that a load balancer sends traffic elsewhere;
//                 503 too from SIGTERM on (server.ts drains for ROSTER_SHUTDOWN_DRAIN_MS, still
//                 answering, so that load balancers stop sending before the port closes).
import type { FastifyInstance } from 'fastify'
import { migrationNames } from '../store/migrations/index.ts'
import type { Store } from '../store/store.ts'

export interface HealthOptions {
  readonly store: Store
  /** Background workers this server runs, by name, each running or not. */
  readonly workers: () => Record<string, boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set on SIGTERM before the server closes (server.ts): /readyz answers 503, responses close their connection. */
    draining: boolean
  }
}

type Check = { readonly ok: boolean; readonly detail?: string }

async function database(store: Store): Promise<{ database: Check; migrations: Check }> {
  try {
    await store.ping()
  } catch (e) {
    return { database: { ok: false, detail: e instanceof Error ? e.message : 'unavailable' }, migrations: { ok: false, detail: 'database unavailable' } }
  }
  let applied: string[]
  try {
    applied = await store.appliedMigrations()
  } catch {
    applied = []
  }
  const pending = migrationNames().filter((m) => !applied.includes(m))
  return { database: { ok: true }, migrations: pending.length === 0 ? { ok: true } : { ok: false, detail: `pending: ${pending.join(', ')} (run roster migrate)` } }
}

export function registerHealth(app: FastifyInstance, opts: HealthOptions): void {
  app.decorate('draining', false)
  // While draining, keep-alive clients are moved off this server one answer at a time.
  // A callback hook, not an async one: Fastify wraps an async hook's promise on every answer.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (app.draining) void reply.header('connection', 'close')
    done(null, payload)
  })
  app.get('/healthz', { logLevel: 'silent' }, async () => ({ status: 'ok' }))
  app.get('/readyz', { logLevel: 'silent' }, async (_request, reply) => {
    if (app.draining) return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', checks: { shutdown: { ok: false, detail: 'the server is shutting down' } } })
    const checks: Record<string, Check> = { ...(await database(opts.store)) }
    for (const [name, running] of Object.entries(opts.workers())) checks[name] = running ? { ok: true } : { ok: false, detail: 'not running' }
    const ready = Object.values(checks).every((c) => c.ok)
    if (!ready) reply.code(503).header('retry-after', '5')
    return { status: ready ? 'ready' : 'unavailable', checks }
  })
}
