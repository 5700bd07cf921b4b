// Setup that is not under test, done in process on the database before a server starts: an
// organization, its SCIM token, and many users through the same use case SCIM creates run.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDatabaseUrl } from '../../../src/config.ts'
import { uuidV7Generator } from '../../../src/ids.ts'
import { createApiKey, type Scope } from '../../../src/provisioning/api-keys.ts'
import { DEFAULT_LIMITS, type Deps } from '../../../src/provisioning/deps.ts'
import { createOrg } from '../../../src/provisioning/orgs.ts'
import { createUser } from '../../../src/provisioning/users.ts'
import { userResource } from '../../../src/scim/schema/registry.ts'
import { openStore } from '../../../src/store/open.ts'
import { startServer, type Server } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

/** User `i`'s userName, or its whole body (`schemas` is the core User's unless it names its own). */
export type SeedUser = (i: number) => string | { readonly userName: string; readonly [attribute: string]: unknown }

/**
 * Creates organizations named `names`, `users` users in the first and, with `keyScopes`, an API
 * key of the first; returns their tokens and ids, the users' ids and the key.
 */
export async function seedDatabase(databaseUrl: string, names: readonly string[], users: number, user: SeedUser, keyScopes: readonly Scope[] = []): Promise<{ tokens: string[]; orgIds: string[]; userIds: string[]; key: string }> {
  const store = await openStore(parseDatabaseUrl(databaseUrl), { migrate: true })
  try {
    const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const orgs = []
    for (const name of names) orgs.push(await createOrg(deps, name, []))
    const first = orgs[0]
    if (!first) throw new Error('no organization')
    const userIds: string[] = []
    for (let i = 0; i < users; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, users - i) }, (_, k) => {
        const u = user(i + k)
        return createUser(deps, first.orgId, { schemas: [USER], ...(typeof u === 'string' ? { userName: u } : u) }, undefined, userResource)
      }))
      userIds.push(...batch.map((u) => u.id))
    }
    const key = keyScopes.length === 0 ? '' : (await createApiKey(deps, { name: 'seed', orgId: first.orgId, scopes: keyScopes, expiresAt: null })).key
    return { tokens: orgs.map((o) => o.token), orgIds: orgs.map((o) => o.orgId), userIds, key }
  } finally {
    await store.close()
  }
}

/**
 * A spawned `roster serve` on a SQLite file of its own in a temporary folder, the organizations
 * `names` seeded first (no users); `env` is the server's configuration. `close` stops the server
 * and removes the folder.
 */
export async function seededSqliteServer(prefix: string, names: readonly string[], env: Record<string, string> = {}): Promise<{ server: Server; tokens: string[]; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `roster-${prefix}-`))
  const url = `sqlite:${join(dir, 'roster.db')}`
  const { tokens } = await seedDatabase(url, names, 0, String)
  const server = await startServer(url, env)
  return {
    server, tokens,
    close: async () => {
      await server.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
