// Read-then-write changes that run at the same moment as another transaction, through the real
// server. On PostgreSQL (READ COMMITTED, several servers on one database) each path must take the
// lock that orders it against the others; the raw client below holds that lock where a test
// needs the interleaving to happen for certain. SQLite's single writer orders write transactions
// already, but a change that reads outside its transaction can still lose to another.
// docs/architecture.md ROS-6, and "Read-then-write on PostgreSQL".
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { purgeDeletedUsers } from '../../src/provisioning/deprovision.ts'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { OrgGone } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall } from '../helpers/api-client.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

type Json = Record<string, unknown>
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

describe.each(storeMatrix())('concurrent changes on $name', (base) => {
  const { factory, url } = remembering(base)
  // The interleavings of PostgreSQL's concurrent transactions: SQLite's single writer has none,
  // so on SQLite these cases are not declared at all (as suites filtered to PostgreSQL are not).
  const pgOnly = (name: string, fn: () => Promise<void>) => {
    if (base.name === 'postgres') it(name, fn)
  }
  let t: TestApp
  let key: string
  let operator: string
  let rx: Receiver

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, k = key) => {
    const r = await apiCall(t, method, path, k, body)
    return { status: r.status, json: r.json as Json }
  }

  const open = new Set<pg.Client>()
  /** A transaction of a raw client that holds `lockSql`'s rows until `release` (or the test's end). */
  const holding = async (lockSql: string, params: unknown[]) => {
    const c = new pg.Client({ connectionString: url() })
    await c.connect()
    open.add(c)
    await c.query('begin')
    await c.query(lockSql, params)
    return {
      client: c,
      release: async () => {
        open.delete(c)
        await c.query('commit')
        await c.end()
      },
    }
  }
  afterEach(async () => {
    for (const c of open) await c.end().catch(() => undefined)
    open.clear()
  })

  /** One statement on a raw client of the test's database. */
  const query = async <R extends Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]> => {
    const c = new pg.Client({ connectionString: url() })
    await c.connect()
    try {
      return (await c.query(text, params)).rows as R[]
    } finally {
      await c.end()
    }
  }

  /** Whether `p` is still pending after `ms` (it waits for a lock). */
  const stillWaiting = async (p: Promise<unknown>, ms = 400) => {
    let settled = false
    const done = () => {
      settled = true
    }
    p.then(done, done)
    await new Promise((r) => setTimeout(r, ms))
    return !settled
  }

  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    key = (await createApiKey(t.deps, { name: 'changes', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    operator = (await createApiKey(t.deps, { name: 'operator', orgId: null, scopes: ['*'], expiresAt: null })).key
    rx = await startReceiver()
  })
  afterAll(async () => {
    await t.close()
    await rx.stop()
  })

  pgOnly('a redelivery waits for a transaction that holds the endpoint, then is delivered', async () => {
    // Without the endpoint's lock, a completion handing the lane on between the redelivery's look
    // at the lane and its commit found no next delivery, and the redelivery waited behind no head.
    rx.accepted.length = 0
    const made = await api('POST', `/orgs/${t.orgId}/webhooks`, { url: rx.url, eventTypes: ['group.created'] })
    expect(made.status).toBe(201)
    rx.secrets = [String(made.json.secret)]
    expect((await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'locked' })).status).toBe(201)
    await eventually(() => rx.accepted.length >= 1, 10_000, 'the first delivery')
    const eventId = rx.accepted[0]?.webhookId as string

    const held = await holding('select id from webhook_endpoints where id = $1 for update', [made.json.id])
    const redeliver = api('POST', `/orgs/${t.orgId}/webhooks/${String(made.json.id)}/redeliver`, { eventId })
    expect(await stillWaiting(redeliver)).toBe(true)
    await held.release()
    expect((await redeliver).status).toBe(202)
    await eventually(() => rx.accepted.length >= 2, 10_000, 'the redelivery')
    expect(rx.accepted[1]?.webhookId).toBe(eventId)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${String(made.json.id)}`)
  })

  pgOnly('two settings changes that start together both apply', async () => {
    // Each read the settings and wrote them back whole: the second to commit undid the first.
    const held = await holding('select id from orgs where id = $1 for update', [t.orgId])
    const a = api('PATCH', `/orgs/${t.orgId}/settings`, { sendInvitations: false })
    const b = api('PATCH', `/orgs/${t.orgId}/settings`, { deleteAfterDays: 45 })
    expect(await stillWaiting(a)).toBe(true)
    await held.release()
    expect((await a).status).toBe(200)
    expect((await b).status).toBe(200)
    const now = await api('GET', `/orgs/${t.orgId}/settings`)
    expect(now.json.sendInvitations).toBe(false)
    expect(now.json.deleteAfterDays).toBe(45)
    expect((await api('PATCH', `/orgs/${t.orgId}/settings`, { sendInvitations: true, deleteAfterDays: 30 })).status).toBe(200)
  })

  pgOnly('the mailer queues no second invitation while a resend holds the user', async () => {
    // The mailer's check for an open invitation did not see the one a resend was queueing: both
    // were queued, two emails with two working links.
    const created = await t.req('POST', '/Users', user('resent@example.com'))
    expect(created.status).toBe(201)
    const uid = String(created.json.id)
    // The fan-out reads only stamped events, and the stamp lands after the create's answer: until
    // it does, the fan-out finds nothing to queue and never reaches the user's lock.
    await eventually(async () => (await query<{ n: number }>(`select count(*)::int as n from events
      where resource_id = $1 and type = 'user.created' and position is not null`, [uid]))[0]?.n === 1, 10_000, 'the event\'s stamp')
    // What a resend holds and writes: the user FOR UPDATE, and its new invitation.
    const held = await holding('select id from users where id = $1 for update', [uid])
    await held.client.query(`insert into invitations (org_id, id, user_id, status, created_at, attempts, next_attempt_ms, lease_until_ms)
      values ($1, $2, $3, 'queued', $4, 0, 0, 0)`, [t.orgId, `i-${Date.now()}`, uid, new Date().toISOString()])
    const now = new Date()
    const fanOut = t.store.invitations.fanOut({
      after: 0, limit: 100_000, types: ['user.created'], pick: (e) => (e.type === 'user.created' && e.resourceId === uid ? e.resourceId as never : null),
      persist: true, newId: () => crypto.randomUUID(), now: now.toISOString(), nowMs: now.getTime(),
    })
    expect(await stillWaiting(fanOut)).toBe(true)
    await held.release()
    expect((await fanOut).queued).toBe(0)
    const [invitations] = await query(`select count(*)::int as n from invitations where user_id = $1 and status in ('queued', 'sent')`, [uid])
    expect(invitations?.n).toBe(1)
  })

  pgOnly('an API key, a webhook endpoint or a SCIM token asked for while the organization is deleted is refused', async () => {
    // Each was inserted without reading the organization in its transaction: it outlived the
    // deletion that committed around it.
    const org = await t.newOrg(`deleted-${Date.now()}`)
    const orgKey = (await createApiKey(t.deps, { name: 'before', orgId: org.orgId, scopes: ['*'], expiresAt: null })).key
    // What a deletion holds until it commits: the organization's row, deleted.
    const held = await holding('select id from orgs where id = $1 for update', [org.orgId])
    await held.client.query('delete from orgs where id = $1', [org.orgId])
    const key = createApiKey(t.deps, { name: 'during', orgId: org.orgId, scopes: ['*'], expiresAt: null })
    const endpoint = api('POST', `/orgs/${org.orgId}/webhooks`, { url: rx.url }, orgKey)
    const token = refreshToken(t.deps, org.orgId)
    expect(await stillWaiting(key)).toBe(true)
    expect(await stillWaiting(endpoint, 0)).toBe(true)
    expect(await stillWaiting(token, 0)).toBe(true)
    await held.release()
    await expect(key).rejects.toBeInstanceOf(OrgGone)
    expect((await endpoint).status).toBe(404)
    await expect(token).rejects.toBeInstanceOf(OrgGone)
    const [left] = await query(`select (select count(*)::int from api_keys where org_id = $1 and name = 'during') as keys,
        (select count(*)::int from webhook_endpoints where org_id = $1) as endpoints`, [org.orgId])
    expect(left).toEqual({ keys: 0, endpoints: 0 })
  })

  pgOnly('failed console sign-ins at the same moment are each counted', async () => {
    // Each read the count under a lock that held no row yet: a burst of first failures counted one.
    const email = `burst-${Date.now()}@example.com`
    const now = new Date().toISOString()
    const windowStart = new Date(Date.now() - 900_000).toISOString()
    const lockUntil = new Date(Date.now() + 900_000).toISOString()
    // A first failure in flight: its row inserted, not yet committed.
    const held = await holding(`insert into console_sign_in (email_folded, failures, first_failure_at, locked_until) values ($1, 1, $2, null)`, [email, now])
    const second = t.store.console.failSignIn(email, now, windowStart, 5, lockUntil)
    expect(await stillWaiting(second)).toBe(true)
    await held.release()
    expect((await second).failures).toBe(2)
    expect((await t.store.console.signInState(email))?.failures).toBe(2)
  })

  pgOnly('of one-time links asked for at the same moment, only the last stays valid', async () => {
    // Each marked only the links committed before it as used: all of the burst stayed valid.
    const account = `acct-${Date.now()}`
    const now = new Date().toISOString()
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
    await Promise.all(Array.from({ length: 8 }, (_, i) => t.store.console.createLink({ hash: `${account}-${i}`, kind: 'reset', accountId: account, now, expiresAt })))
    const [valid] = await query('select count(*)::int as n from console_links where account_id = $1 and used_at is null', [account])
    expect(valid?.n).toBe(1)
  })

  pgOnly('an identity provider\'s create does not take over an application\'s user renamed meanwhile', async () => {
    // The takeover was decided from reads outside its transaction: the application's rename was
    // overwritten, and the user the application calls by the new name was taken over.
    expect((await api('PATCH', `/orgs/${t.orgId}/settings`, { adoptExisting: true })).status).toBe(200)
    try {
      const name = `alice-${Date.now()}@example.com`
      const made = await api('POST', `/orgs/${t.orgId}/users`, { userName: name })
      expect(made.status).toBe(201)
      const appId = String(made.json.id)
      const held = await holding('select id from users where id = $1 for update', [appId])
      const create = t.req('POST', '/Users', user(name))
      expect(await stillWaiting(create)).toBe(true)
      // The application renames its user while the create waits to take it over.
      const renamed = `bob-${Date.now()}@example.com`
      await held.client.query(`update users set user_name = $2, user_name_folded = $2, data = jsonb_set(data, '{userName}', to_jsonb($2::text)),
        version = version + 1 where id = $1`, [appId, renamed])
      await held.release()
      const r = await create
      expect(r.status).toBe(201)
      expect(r.json.id).not.toBe(appId)
      expect((await api('GET', `/orgs/${t.orgId}/users/${appId}`)).json.userName).toBe(renamed)
    } finally {
      await api('PATCH', `/orgs/${t.orgId}/settings`, { adoptExisting: false })
    }
  })

  pgOnly('of two SCIM token refreshes at once, only the last token stays live', async () => {
    // Each revoked the live tokens it saw: the second, blocked on the old token's row, never saw
    // the first's new token, and both new tokens stayed live (a refresh to cut off a leaked token
    // could leave another working).
    const org = await t.newOrg(`tokens-${Date.now()}`)
    const [old] = await query<{ id: string }>('select id from scim_tokens where org_id = $1 and revoked_at is null', [org.orgId])
    const held = await holding('select id from scim_tokens where id = $1 for update', [old?.id])
    const first = refreshToken(t.deps, org.orgId)
    const second = refreshToken(t.deps, org.orgId)
    await stillWaiting(first)
    await held.release()
    const tokens = await Promise.all([first, second])
    const live = await Promise.all(tokens.map(async (k) => (await t.req('GET', '/Users', undefined, { token: k.token })).status))
    expect(live.sort()).toEqual([200, 401])
    expect((await t.req('GET', '/Users', undefined, { token: org.token })).status).toBe(401)
  })

  pgOnly('the purge of a deleted user leaves no event behind its organization\'s deletion', async () => {
    // The purge never read the organization: it committed its user.deleted event after the
    // deletion had removed the organization's events, and the event outlived the organization.
    const org = await t.newOrg(`purged-${Date.now()}`)
    expect((await api('PATCH', `/orgs/${org.orgId}/settings`, { deprovision: 'suspend', deleteAfterDays: 1 }, operator)).status).toBe(200)
    const made = await t.req('POST', '/Users', user('purged@example.com'), { token: org.token })
    expect(made.status).toBe(201)
    expect((await t.req('DELETE', `/Users/${String(made.json.id)}`, undefined, { token: org.token })).status).toBe(204)
    // The deletion, as far as its events: the organization held, its events gone, the rest to come.
    const held = await holding('select id from orgs where id = $1 for update', [org.orgId])
    await held.client.query('delete from events where org_id = $1', [org.orgId])
    const purge = purgeDeletedUsers({ store: t.store, newId: t.deps.newId, now: () => new Date(Date.now() + 2 * 86_400_000) })
    expect(await stillWaiting(purge)).toBe(true)
    await held.client.query('delete from deleted_users where org_id = $1', [org.orgId])
    await held.client.query('delete from orgs where id = $1', [org.orgId])
    await held.release()
    await purge
    const [left] = await query<{ n: number }>('select count(*)::int as n from events where org_id = $1', [org.orgId])
    expect(left?.n).toBe(0)
  })

  it('secrets rotated at the same moment all sign the next delivery', async () => {
    // Each rotation read the secrets outside its transaction and wrote the list back: the last
    // one dropped the others' new secrets, which then verified nothing.
    rx.accepted.length = 0
    const made = await api('POST', `/orgs/${t.orgId}/webhooks`, { url: rx.url })
    const id = String(made.json.id)
    const rotated = await Promise.all([1, 2, 3].map(() => api('POST', `/orgs/${t.orgId}/webhooks/${id}/rotate-secret`)))
    const secrets = [String(made.json.secret), ...rotated.map((r) => String(r.json.secret))]
    expect(new Set(secrets).size).toBe(4)
    // Each secret alone must verify the test delivery (the receiver checks every one it is given).
    rx.secrets = secrets
    expect((await api('POST', `/orgs/${t.orgId}/webhooks/${id}/test`)).json.status).toBe(200)
    expect(rx.badSignatures).toEqual([])
    expect(rx.accepted.at(-1)?.signature.split(' ')).toHaveLength(4)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${id}`)
  })

  pgOnly('deleting an organization while a fan-out holds its endpoint leaves no delivery behind', async () => {
    // The deletion removed the endpoint's deliveries before it held the endpoint: a fan-out that
    // held it already committed new deliveries after that, which stayed with no endpoint.
    const org = await t.newOrg(`fan-out-${Date.now()}`)
    const orgKey = (await createApiKey(t.deps, { name: 'gone', orgId: org.orgId, scopes: ['*'], expiresAt: null })).key
    const ep = await api('POST', `/orgs/${org.orgId}/webhooks`, { url: rx.url }, orgKey)
    expect(ep.status).toBe(201)
    expect((await t.req('POST', '/Users', user('fan.out@example.com'), { token: org.token })).status).toBe(201)
    const held = await holding('select id from webhook_endpoints where id = $1 for update', [ep.json.id])
    // What a fan-out writes while it holds the endpoint: a delivery heading a new lane.
    await held.client.query(`insert into webhook_deliveries (id, org_id, endpoint_id, position, event_offset, event_until, lane, attempts,
      first_failure_ms, next_attempt_ms, lease_until_ms, lease_owner, is_head) values ($1, $2, $3, 1, 0, 1, 'lane', 0, null, 0, 0, null, 1)`,
    [`d-${Date.now()}`, org.orgId, ep.json.id])
    const deletion = api('DELETE', `/orgs/${org.orgId}`, undefined, operator)
    expect(await stillWaiting(deletion)).toBe(true)
    await held.release()
    expect((await deletion).status).toBe(200)
    const [left] = await query('select count(*)::int as n from webhook_deliveries where org_id = $1', [org.orgId])
    expect(left?.n).toBe(0)
  })
})
