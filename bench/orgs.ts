// Creates many organizations the way `roster org create NAME --json` does (the same use case,
// provisioning/orgs.ts createOrg, on a store opened as the CLI opens it), in one process:
// a thousand CLI invocations would each start Node and open the database.
//   ROSTER_DATABASE_URL=postgres://... node --import tsx bench/orgs.ts --count 1000 [--name bench] > tokens.jsonl
// prints one `{"orgId","tenantUrl","token"}` line per organization, named `<name>-<i>`.
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.ts'
import { uuidV7Generator } from '../src/ids.ts'
import { DEFAULT_LIMITS } from '../src/provisioning/deps.ts'
import { createOrg } from '../src/provisioning/orgs.ts'
import { openStore } from '../src/store/open.ts'

export interface CreatedOrg {
  orgId: string
  token: string
}

/** Creates `count` organizations named `<name>-0` … on `databaseUrl`, one transaction each. */
export async function createOrgs(databaseUrl: string, name: string, count: number): Promise<CreatedOrg[]> {
  const config = loadConfig({ ...process.env, ROSTER_DATABASE_URL: databaseUrl })
  // As the CLI's one-shot commands open it: no worker threads; the servers already migrated.
  const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: 0, sqliteBackgroundCheckpoint: false, poolSize: 1 })
  const deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits ?? DEFAULT_LIMITS }
  try {
    const out: CreatedOrg[] = []
    for (let i = 0; i < count; i++) out.push(await createOrg(deps, `${name}-${i}`, []))
    return out
  } finally {
    await store.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1' }, name: { type: 'string', default: 'bench' } } })
  const url = process.env.ROSTER_DATABASE_URL
  if (!url) throw new Error('ROSTER_DATABASE_URL is required')
  const config = loadConfig()
  const tenantUrl = `${config.publicUrl ?? `http://${config.host}:${config.port}`}/scim/v2`
  for (const o of await createOrgs(url, values.name, Number(values.count))) {
    process.stdout.write(`${JSON.stringify({ orgId: o.orgId, tenantUrl, token: o.token })}\n`)
  }
}
