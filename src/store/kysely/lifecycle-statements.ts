// Statements of a user's life beyond SCIM's writes (migration 0008, docs/policies.md): adoption
// of an application-created user, the invitation's pending state, the application's metadata,
// users kept after a DELETE under `deprovision: suspend`, and invitations.
import { sql, type Kysely } from 'kysely'
import { arg, prepare } from './prepared.ts'
import type { Database } from './schema.ts'

export function lifecycleStatements(b: Kysely<Database>) {
  const bump = { version: sql`version + 1` as never, updated_at: arg(2) }
  return {
    adoptUser: prepare(b.updateTable('users').set({ managed_by: 'scim', identity_provider: arg(2) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    setPending: prepare(b.updateTable('users').set({ ...bump, pending: arg(3) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    setMetadata: prepare(b.updateTable('users').set({ ...bump, metadata: arg(3) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    setMetadataOnly: prepare(b.updateTable('users').set({ metadata: arg(2) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    keepDeletedUser: prepare(b.insertInto('deleted_users').values({ org_id: arg(0), id: arg(1), deleted_at: arg(2), purge_at: arg(3), data: arg(4) })
      .onConflict((oc) => oc.columns(['org_id', 'id']).doUpdateSet({ deleted_at: arg(2), purge_at: arg(3), data: arg(4) }))),
    deletedUser: prepare(b.selectFrom('deleted_users').select(['data', 'deleted_at', 'purge_at']).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    // A page of an organization's kept users in id order, deleted at or after arg(3) ('' for any).
    deletedUsersPage: prepare(b.selectFrom('deleted_users').select(['id', 'data']).where('org_id', '=', arg(0)).where('id', '>', arg(1))
      .where('deleted_at', '>=', arg(3)).orderBy('id').limit(arg(2))),
    duePurges: prepare(b.selectFrom('deleted_users').select(['org_id', 'id', 'data']).where('purge_at', '<=', arg(0)).orderBy('purge_at').limit(arg(1))),
    purgeDeletedUser: prepare(b.deleteFrom('deleted_users').where('org_id', '=', arg(0)).where('id', '=', arg(1))),
  }
}
export type LifecycleStatements = ReturnType<typeof lifecycleStatements>
