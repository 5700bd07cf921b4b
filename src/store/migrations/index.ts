// The ordered list of migrations, shared by both dialects. Kysely's Migrator records applied
// names and takes a lock, so servers starting at once apply each migration exactly once.
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import { initial } from './0001-initial.ts'
import { sqlitePlannerStats } from './0002-sqlite-planner-stats.ts'
import { postgresCodePointIndexes } from './0003-postgres-code-point-indexes.ts'
import { provisioningLog } from './0004-provisioning-log.ts'
import { sqliteMembershipKeys } from './0005-sqlite-membership-keys.ts'
import { postgresPageIndexes } from './0006-postgres-page-indexes.ts'
import { eventsAndDirectory } from './0007-events-and-directory.ts'
import { organizationPolicies } from './0008-organization-policies.ts'
import { consoleAccounts } from './0009-console-accounts.ts'
import { rateLimits } from './0010-rate-limits.ts'
import { declaredSchemas } from './0011-declared-schemas.ts'
import { uniqueValues } from './0012-unique-values.ts'
import { serverInfo } from './0013-server-info.ts'
import { consoleListIndexes } from './0014-console-list-indexes.ts'
import { orgSettingsVersion } from './0015-org-settings-version.ts'
import { webhookEndpointDue } from './0016-webhook-endpoint-due.ts'
import { consoleSessionAuthenticated } from './0017-console-session-authenticated.ts'
import { invitationsSent } from './0018-invitations-sent.ts'
import { invitationFirstFailure } from './0019-invitation-first-failure.ts'

export type DialectKind = 'sqlite' | 'postgres'

function migrations(kind: DialectKind): Record<string, Migration> {
  return {
    '0001-initial': initial(kind), '0002-sqlite-planner-stats': sqlitePlannerStats(kind), '0003-postgres-code-point-indexes': postgresCodePointIndexes(kind),
    '0004-provisioning-log': provisioningLog(kind), '0005-sqlite-membership-keys': sqliteMembershipKeys(kind),
    '0006-postgres-page-indexes': postgresPageIndexes(kind), '0007-events-and-directory': eventsAndDirectory(kind),
    '0008-organization-policies': organizationPolicies(kind), '0009-console-accounts': consoleAccounts(kind), '0010-rate-limits': rateLimits(kind),
    '0011-declared-schemas': declaredSchemas(kind), '0012-unique-values': uniqueValues(kind), '0013-server-info': serverInfo(kind),
    '0014-console-list-indexes': consoleListIndexes(kind), '0015-org-settings-version': orgSettingsVersion(kind),
    '0016-webhook-endpoint-due': webhookEndpointDue(kind), '0017-console-session-authenticated': consoleSessionAuthenticated(kind),
    '0018-invitations-sent': invitationsSent(kind), '0019-invitation-first-failure': invitationFirstFailure(kind),
  }
}

/** The migrations up to and including `last`, in order: a database at an earlier schema, for upgrade tests. */
export function migrationsUpTo(kind: DialectKind, last: string): Record<string, Migration> {
  return Object.fromEntries(Object.entries(migrations(kind)).filter(([name]) => name <= last))
}

/** Every migration's name, in the order they apply. */
export function migrationNames(): string[] {
  return Object.keys(migrations('sqlite')).sort()
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<unknown>, kind: DialectKind): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(kind)) }
  const migrator = new Migrator({ db, provider })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName
    // No migration ran: the database itself failed (unreachable, refused): that error is the answer.
    if (failed === undefined) throw error
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
