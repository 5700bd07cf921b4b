// Group use cases (RFC 7644 §3.3–§3.6). Membership lives in its own rows: a PATCH turns every
// `members` operation into a delta, so adding 100 members to a group of 50,000 reads and writes
// about 100 rows (docs/architecture.md, "hard parts").
import type { ListParams } from '../scim/list-query.ts'
import { ScimError, quote } from '../scim/errors.ts'
import { applyPatch } from '../scim/patch/apply.ts'
import { bareValueNote } from '../scim/filter/parser.ts'
import { normalizePatch } from '../scim/patch/normalize.ts'
import { validateResource, type MemberRef } from '../scim/resource.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import { groupCreated, groupDeleted, groupUpdated, memberEvents, memberRemovedByDelete } from '../events/build.ts'
import type { GroupRow, ListResult, MemberDelta, OrgId, StoreTx } from '../store/store.ts'
import { UniqueViolation } from '../store/store.ts'
import { checkIfMatch, notFound, ownFields, toListQuery } from './common.ts'
import type { Deps } from './deps.ts'
import { memberChange, type MemberChange, type WriteLog } from './log-change.ts'
import { NO_MAPPING } from '../orgs/settings.ts'
import { checkUndeclared } from './policy.ts'
import { eventContext } from './users.ts'
import { checkSchemaVersion, keepUnique, withCurrentSchemas } from './unique.ts'

async function displayNameTaken(deps: Deps, orgId: OrgId, displayName: unknown, e: unknown): Promise<never> {
  if (e instanceof UniqueViolation && e.what === 'displayName' && typeof displayName === 'string') {
    const id = await deps.store.findGroupIdByDisplayName(orgId, displayName)
    throw new ScimError(409, 'uniqueness', `displayName ${quote(displayName)} is already taken${id ? ` by Group ${id}` : ''}`)
  }
  throw e
}

function checkMemberCount(deps: Deps, n: number): void {
  if (n > deps.limits.maxMembersPerRequest) {
    throw new ScimError(400, 'tooMany', `A request may name at most ${deps.limits.maxMembersPerRequest} members; send them in batches`)
  }
}

/**
 * Checks that every member to add exists in this organization and sets its type. A member
 * that does not exist (or belongs to another organization: docs/architecture.md TEN-3) is a 400
 * invalidValue; nothing is written.
 */
async function resolveRefs(tx: StoreTx, orgId: OrgId, groupId: string, refs: readonly MemberRef[]): Promise<MemberRef[]> {
  if (refs.length === 0) return []
  const found = await tx.resolveMembers(orgId, refs.map((r) => r.value))
  return refs.map((r) => {
    const type = found.get(r.value)
    if (!type) throw new ScimError(400, 'invalidValue', `Member ${quote(r.value)} is not a User or Group of this organization`)
    if (r.value === groupId) throw new ScimError(400, 'invalidValue', 'A group cannot be a member of itself')
    return { value: r.value, type }
  })
}

/**
 * The group as its own write's transaction sees it, members and their display names included,
 * for the write's answer (RFC 7644 §3.3, §3.5.1): read after the commit, the members could be a
 * later write's (a member deleted meanwhile vanished from the create's answer at version 1; found
 * by test/reliability/scheduled-model.test.ts). A group of more members than an answer streams
 * (ROSTER_STREAM_MEMBERS_OVER) is left to be streamed after the commit, since reading it here
 * would hold the writer for all of them.
 */
async function withOwnMembers(deps: Deps, tx: StoreTx, orgId: OrgId, row: GroupRow): Promise<GroupRow> {
  if ((row.directory?.memberCount ?? 0) > deps.limits.streamMembersOver) return row
  return { ...ownFields(row), members: await tx.groupMembers(orgId, row.id) }
}

/** POST /Groups. */
export function createGroup(deps: Deps, orgId: OrgId, input: unknown, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => createGroupWith(deps, orgId, input, log, current))
}

async function createGroupWith(deps: Deps, orgId: OrgId, input: unknown, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  const v = validateResource(rs, input, { mode: 'create' })
  for (const n of v.notes) log?.note?.(n)
  checkMemberCount(deps, v.members?.length ?? 0)
  const id = deps.newId()
  const now = deps.now().toISOString()
  const identityProvider = log?.identityProvider?.() ?? null
  try {
    return await deps.store.write(async (tx) => {
      // The policy holds the declarations' version, checked against those the body was validated with.
      const policy = await tx.orgs.policy(orgId)
      checkSchemaVersion(policy, rs)
      if (v.unknown) checkUndeclared(policy, v.unknown)
      await tx.insertGroup(orgId, { id, body: v.body, now, identityProvider })
      await keepUnique(tx, orgId, rs, id, null, v.body)
      const members = await resolveRefs(tx, orgId, id, v.members ?? [])
      const delta: MemberDelta = { replaceAll: members, add: [], remove: [], removeAll: false }
      const r = members.length === 0 ? null : await tx.applyMemberDelta(orgId, id, delta)
      const created: GroupRow = {
        id, version: 1, created: now, lastModified: now, body: v.body,
        directory: { managedBy: 'scim', identityProvider, customAttributes: null, memberCount: r?.added.length ?? 0 },
      }
      const ctx = eventContext(deps, orgId, now, NO_MAPPING)
      await tx.insertEvents(orgId, [groupCreated(ctx, created), ...(r ? memberEvents(ctx, created, r) : [])])
      await log?.record(tx, orgId, { resourceType: 'Group', resourceId: id, before: null, after: v.body, members: r ? memberChange(delta, r) : undefined })
      return r ? await withOwnMembers(deps, tx, orgId, created) : created
    }, deps.deadline)
  } catch (e) {
    return displayNameTaken(deps, orgId, v.body.displayName, e)
  }
}

/** GET /Groups/{id}; `withMembership` false never reads the membership rows. */
export async function getGroup(deps: Deps, orgId: OrgId, id: string, withMembership: boolean): Promise<GroupRow> {
  const row = await deps.store.getGroup(orgId, id, { withMembership, deadline: deps.deadline })
  if (!row) throw notFound('Group', id)
  return row
}

/** GET /Groups and POST /Groups/.search. */
export function listGroups(deps: Deps, orgId: OrgId, p: ListParams, withMembership: boolean, rs: ResourceSchema): Promise<ListResult<GroupRow>> {
  return deps.store.listGroups(orgId, { ...toListQuery(p), rs }, { withMembership, deadline: deps.deadline })
}

async function modifyGroup(
  deps: Deps, orgId: OrgId, id: string, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema,
  change: (cur: GroupRow) => { body: Record<string, unknown>; changed: boolean; delta: MemberDelta | null },
  unknown: Readonly<Record<string, unknown>> | null = null,
  /** Whether the answer shows the members (a PUT's does; a PATCH's is 204): then they are read inside the write. */
  answersMembers = false,
): Promise<GroupRow> {
  const now = deps.now().toISOString()
  let displayName: unknown
  try {
    return await deps.store.write(async (tx) => {
      const cur = await tx.getGroupForUpdate(orgId, id)
      if (!cur) throw notFound('Group', id)
      checkIfMatch(ifMatch, cur.version)
      if (unknown) checkUndeclared(await tx.orgs.policy(orgId), unknown)
      const next = change(cur)
      displayName = next.body.displayName
      let membersChanged = false
      let members: MemberChange | undefined
      let result = null
      if (next.delta) {
        const d = next.delta
        checkMemberCount(deps, (d.replaceAll?.length ?? 0) + d.add.length + d.remove.length)
        // Nearly every identity provider's member PATCH only adds users that are not members yet
        // (Entra ID and Okta send batches of them): the store tries that first, in one statement.
        const onlyAdds = d.replaceAll === null && !d.removeAll && d.remove.length === 0
        result = onlyAdds ? await tx.addNewUserMembers(orgId, id, [...new Set(d.add.map((m) => m.value))]) : null
        let resolved: MemberDelta
        if (result) resolved = { ...d, add: d.add.map((m) => ({ value: m.value, type: 'User' as const })) }
        else {
          const replaceAll = d.replaceAll ? await resolveRefs(tx, orgId, id, d.replaceAll) : null
          resolved = { ...d, replaceAll, add: await resolveRefs(tx, orgId, id, d.add) }
          result = await tx.applyMemberDelta(orgId, id, resolved)
        }
        membersChanged = result.added.length + result.removed.length > 0
        members = memberChange(resolved, result)
      }
      if (next.changed) {
        // Read (and on PostgreSQL held) before the write: the declarations the change was validated with.
        checkSchemaVersion(await tx.orgs.policy(orgId), rs)
        await keepUnique(tx, orgId, rs, id, cur.body, next.body)
        await tx.updateGroup(orgId, id, next.body, cur.version, now)
      }
      else if (membersChanged) await tx.touchGroup(orgId, id, cur.version, now)
      const logged = { resourceType: 'Group' as const, resourceId: id, before: cur.body, after: next.changed ? next.body : cur.body, members }
      await log?.record(tx, orgId, logged)
      if (!next.changed && !membersChanged) return answersMembers ? await withOwnMembers(deps, tx, orgId, cur) : cur
      const memberCount = (cur.directory?.memberCount ?? 0) + (result ? result.added.length - result.removed.length : 0)
      const after: GroupRow = {
        id, version: cur.version + 1, created: cur.created, lastModified: now, body: next.body,
        directory: { managedBy: cur.directory?.managedBy ?? 'scim', identityProvider: cur.directory?.identityProvider ?? null, customAttributes: null, memberCount },
      }
      const ctx = eventContext(deps, orgId, now, NO_MAPPING)
      await tx.insertEvents(orgId, [...(next.changed ? groupUpdated(ctx, after, logged) : []), ...(result ? memberEvents(ctx, after, result) : [])])
      return answersMembers ? await withOwnMembers(deps, tx, orgId, after) : after
    }, deps.deadline)
  } catch (e) {
    return displayNameTaken(deps, orgId, displayName, e)
  }
}

/** PUT /Groups/{id}: replaces the body and the whole member list. */
export function replaceGroup(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => replaceGroupWith(deps, orgId, id, input, ifMatch, log, current))
}

async function replaceGroupWith(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  const v = validateResource(rs, input, { mode: 'replace' })
  for (const n of v.notes) log?.note?.(n)
  const delta: MemberDelta = v.members ? { replaceAll: v.members, add: [], remove: [], removeAll: false } : { replaceAll: null, add: [], remove: [], removeAll: true }
  return modifyGroup(deps, orgId, id, ifMatch, log, rs, () => ({ body: v.body, changed: true, delta }), v.unknown, true)
}

/** PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations or none. */
export function patchGroup(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => patchGroupWith(deps, orgId, id, input, ifMatch, log, current))
}

async function patchGroupWith(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<GroupRow> {
  const ops = normalizePatch(rs, input, { maxOperations: deps.limits.maxPatchOperations, onBareValue: (word) => log?.note?.(bareValueNote(word)) })
  return modifyGroup(deps, orgId, id, ifMatch, log, rs, (cur) => {
    // A group keeps no undeclared attributes (a create drops them too): they are ignored, noted.
    const r = applyPatch(rs, cur.body, ops)
    for (const n of r.notes) log?.note?.(n)
    return { body: r.body, changed: r.changed && JSON.stringify(r.body) !== JSON.stringify(cur.body), delta: r.members }
  })
}

/**
 * DELETE /Groups/{id}: removes the group and its membership rows. `group.deleted` stands for its
 * own members (no event per member); each group it was a member of gets a `group.member_removed`.
 */
export async function deleteGroup(deps: Deps, orgId: OrgId, id: string, ifMatch: string | undefined, log?: WriteLog): Promise<void> {
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    const cur = await tx.getGroupForUpdate(orgId, id)
    if (!cur) throw notFound('Group', id)
    checkIfMatch(ifMatch, cur.version)
    // Holds the organization, and so its declarations (org-policy.ts): a rebuild of the unique
    // index then either sees the group gone or runs first, and this delete removes what it
    // indexed (provisioning/unique.ts).
    await tx.orgs.holdShared(orgId)
    const ctx = eventContext(deps, orgId, now, NO_MAPPING)
    const parents = (await tx.deleteGroup(orgId, id, now)) ?? []
    await tx.insertEvents(orgId, [groupDeleted(ctx, cur), ...parents.map((g) => memberRemovedByDelete(ctx, g, id, 'Group'))])
    await log?.record(tx, orgId, { resourceType: 'Group', resourceId: id, before: cur.body, after: null })
  }, deps.deadline)
}
