// Secrets never leave the answer that issues them (docs/security.md, "Secrets"; docs/architecture.md
// A7): after a run that uses SCIM tokens (current, revoked, in the wrong places), API keys, a
// webhook secret and a password, nothing the server wrote holds any of them: its log lines, the
// database files (SQLite: every file, the WAL and the provisioning-log file included;
// PostgreSQL: every table as text), and every answer except the one that issued the secret. The
// one secret a database holds as it is: a webhook's signing secret (signing needs it).
import { readdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { Writable } from 'node:stream'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { patchOp, startApp, user } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'

/** Everything in the database, as text. */
async function databaseText(url: string): Promise<string> {
  if (url.startsWith('sqlite:')) {
    const dir = dirname(url.slice('sqlite:'.length))
    return readdirSync(dir).map((f) => readFileSync(`${dir}/${f}`).toString('latin1')).join('\n')
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const tables = await client.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'public'")
    const parts: string[] = []
    for (const { t } of tables.rows) {
      const rows = await client.query<{ j: string }>(`select row_to_json(x)::text as j from "${t}" x`)
      parts.push(...rows.rows.map((r) => r.j))
    }
    return parts.join('\n')
  } finally {
    await client.end()
  }
}

describe.each(storeMatrix())('secrets on $name', (base) => {
  it('no token, API key, webhook secret or password appears in logs, stored rows or any answer but its own', async () => {
    const { factory, url } = remembering(base)
    const logs: string[] = []
    const logStream = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done() } })
    const t = await startApp(factory, {}, { logStream, rateLimits: { tokenPerSecond: 1_000, orgPerSecond: 1_000, burstSeconds: 1 } })
    const answers: string[] = []
    const keep = <R extends { status: number; headers: Record<string, unknown>; text: string }>(r: R): R => {
      answers.push(`${r.status} ${JSON.stringify(r.headers)} ${r.text}`)
      return r
    }
    try {
      const password = 'canary-Pa55word-7f3b9c'
      const orgKey = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
      const operatorKey = (await createApiKey(t.deps, { name: 'ops', orgId: null, scopes: ['*'], expiresAt: null })).key
      const api = async (method: 'GET' | 'POST', path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) => {
        const r = await t.app.inject({ method, url: `/api/v1${path}`, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, payload: body ? JSON.stringify(body) : undefined })
        return { status: r.statusCode, headers: r.headers, text: r.body }
      }
      // The webhook secret's own answer is the one place it may appear.
      const hook = await api('POST', `/orgs/${t.orgId}/webhooks`, orgKey, { url: 'https://hooks.example.com/roster' })
      expect(hook.status).toBe(201)
      const webhookSecret = String((JSON.parse(hook.text) as { secret: string }).secret)

      // SCIM: a user with a password, its changes, lookups, and the token everywhere it must not be.
      const created = keep(await t.req('POST', '/Users', user('secret-user', { password })))
      const id = String(created.json.id)
      keep(await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: `${password}-2` })))
      keep(await t.req('PUT', `/Users/${id}`, user('secret-user', { password: `${password}-3` })))
      keep(await t.req('GET', `/Users?filter=${encodeURIComponent(`password eq "${password}"`)}`))
      keep(await t.req('GET', `/Users/${id}?attributes=password`))
      keep(await t.req('GET', `/Users?access_token=${t.token}`, undefined, { token: null }))
      keep(await t.req('GET', '/Users', undefined, { token: null, headers: { cookie: `token=${t.token}` } }))
      keep(await t.req('GET', '/Users', undefined, { token: `${t.token}x` }))
      keep(await t.req('GET', '/Users', undefined, { token: null, headers: { authorization: `Basic ${t.token}` } }))
      keep(await t.req('POST', '/Users', `{"userName": "broken", "password": "${password}"`))
      const revoked = t.token
      const fresh = (await refreshToken(t.deps, t.orgId)).token
      keep(await t.req('GET', '/Users', undefined, { token: revoked }))
      keep(await t.req('GET', `/Users/${id}`, undefined, { token: fresh }))

      // The vendor API, with keys right and wrong.
      keep(await api('GET', `/orgs/${t.orgId}/users`, orgKey))
      keep(await api('GET', `/orgs/${t.orgId}/webhooks`, orgKey))
      keep(await api('GET', `/orgs/${t.orgId}/users?api_key=${orgKey}`, null))
      keep(await api('GET', `/orgs/${t.orgId}/users`, `${orgKey}x`))
      keep(await api('GET', `/orgs/${t.orgId}/users`, revoked))
      keep(await api('GET', `/orgs/${t.orgId}/provisioning-log?limit=100`, operatorKey))
      keep(await api('GET', `/orgs/${t.orgId}/events`, orgKey))

      await t.app.provisioningLog.flush()
      const written = [logs.join(''), await databaseText(url()), answers.join('\n')]
      const secrets = { revoked, fresh, orgKey, operatorKey, webhookSecret, password }
      for (const [name, secret] of Object.entries(secrets)) {
        for (const [i, where] of ['server log', 'database', 'answers'].entries()) {
          // A webhook secret is kept as it is: signing (HMAC-SHA256, Standard Webhooks) needs it.
          if (name === 'webhookSecret' && where === 'database') continue
          expect(written[i]?.includes(secret), `${name} in the ${where}`).toBe(false)
        }
      }
      // The run did write: log lines, log rows and answers to grep.
      expect(written[2]).toContain('401')
      expect(written[1]).toContain('secret-user')
    } finally {
      await t.close()
    }
  })
})
