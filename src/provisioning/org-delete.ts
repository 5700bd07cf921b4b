// Deleting an organization (`roster org delete`, DELETE /api/v1/orgs/{org}; docs/operations.md
// "Deleting an organization"). Its data goes, in one transaction (store/kysely/org-removal.ts);
// what survives is one audit entry, `organization.deleted`: who deleted which organization
// (its id, name and domains), when, and how many rows of each kind went. No event is written:
// the organization's event feed, its webhooks and every key that could read them go in the same
// transaction, so nobody would be left to receive it.
import type { OrgDeletionCounts } from '../store/operations-store.ts'
import type { OrgId } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { OrgError, findOrg } from './orgs.ts'

export interface OrgDeleted {
  readonly orgId: OrgId
  readonly name: string
  readonly deletedAt: string
  readonly deleted: OrgDeletionCounts
}

/** Above every UUID: the provisioning log's rows of an organization all sort below it. */
const PAST_EVERY_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
const LOG_BATCH = 5_000

export async function deleteOrg(deps: Deps, idOrName: string, actor = 'cli'): Promise<OrgDeleted> {
  const org = await findOrg(deps, idOrName)
  const at = deps.now().toISOString()
  const counts = await deps.store.orgRemoval.deleteOrg(org.id, {
    id: deps.newId(), at, actor, details: { name: org.name, domains: [...org.domains], createdAt: org.createdAt },
  })
  if (counts === null) throw new OrgError('ROSTER_ERR_ORG_NOT_FOUND', `No organization "${idOrName}"`)
  // The provisioning log's rows kept outside the main database (SQLite's log file) cannot be in
  // the transaction: they go right after it. No request can add to them any more (its tokens
  // are gone); a row of a request answered just before, which a server's log appender had not yet
  // written (it writes every few milliseconds), can outlive the deletion (docs/operations.md).
  const logRows = counts.logRows + await purgeLog(deps, org.id)
  return { orgId: org.id, name: org.name, deletedAt: at, deleted: { ...counts, logRows } }
}

async function purgeLog(deps: Deps, orgId: OrgId): Promise<number> {
  let total = 0
  for (;;) {
    const n = await deps.store.pruneLog(orgId, PAST_EVERY_ID, LOG_BATCH)
    total += n
    if (n < LOG_BATCH) return total
  }
}
