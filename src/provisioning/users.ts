// User use cases (RFC 7644 §3.3–§3.6): each validates through scim/, runs one store
// transaction, and returns the row the transport renders.
import { isDeepStrictEqual } from 'node:util'
import type { ListParams } from '../scim/list-query.ts'
import { ScimError, quote } from '../scim/errors.ts'
import { applyPatch } from '../scim/patch/apply.ts'
import { bareValueNote } from '../scim/filter/parser.ts'
import { normalizePatch, type PatchOperation } from '../scim/patch/normalize.ts'
import { validateResource } from '../scim/resource.ts'
import { fold } from '../scim/fold.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import { apiUser } from '../directory/shape.ts'
import { deletedUserEvent, memberRemovedByDelete, userCreated, userDeleted, userEvent, userUpdated, type EventContext } from '../events/build.ts'
import type { DirectoryInfo, GroupRef, ListResult, OrgId, StoreTx, UserRow } from '../store/store.ts'
import { UniqueViolation } from '../store/store.ts'
import { checkIfMatch, notFound, ownFields, toListQuery } from './common.ts'
import type { Deps } from './deps.ts'
import type { WriteLog } from './log-change.ts'
import { hashPassword } from './password.ts'
import { checkDomains, checkUndeclared } from './policy.ts'
import type { AttributeMapping } from '../orgs/settings.ts'
import type { OrgPolicy } from '../store/org-store.ts'
import { checkSchemaVersion, keepUnique, withCurrentSchemas } from './unique.ts'

async function userNameTaken(deps: Deps, orgId: OrgId, userName: unknown, e: unknown): Promise<never> {
  if (e instanceof UniqueViolation && e.what === 'userName' && typeof userName === 'string') {
    // Name the holder, so an identity provider retrying a create whose answer was lost can
    // converge (Microsoft Q&A 1151866; docs/architecture.md DUR-4). Same-org only (TEN-2).
    const id = await deps.store.findUserIdByUserName(orgId, userName)
    throw new ScimError(409, 'uniqueness', `userName ${quote(userName)} is already taken${id ? ` by User ${id}` : ''}`)
  }
  throw e
}

/** What the events of one change share; `mapping` is the organization's attribute mapping (its users' `fields`). */
export function eventContext(deps: Deps, orgId: OrgId, at: string, mapping: AttributeMapping): EventContext {
  return { orgId, at, newId: deps.newId, mapping }
}

/**
 * POST /Users. `log` records the request's log row in the write's transaction; the
 * `user.created` event commits with it (the outbox, docs/events.md). Under the organization's
 * policy (docs/policies.md) the user must be inside its email domains, starts `pending` when
 * invitations are on (the mailer sends the invitation from the event, never in the request), and
 * may take over an application-created user of the same userName only when adoption is allowed.
 */
export function createUser(deps: Deps, orgId: OrgId, input: unknown, log: WriteLog | undefined, rs: ResourceSchema): Promise<UserRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => createUserWith(deps, orgId, input, log, current))
}

async function createUserWith(deps: Deps, orgId: OrgId, input: unknown, log: WriteLog | undefined, rs: ResourceSchema, retried = false): Promise<UserRow> {
  const v = validateResource(rs, input, { mode: 'create' })
  for (const n of v.notes) log?.note?.(n)
  const passwordHash = v.password === null ? null : await hashPassword(v.password)
  const id = deps.newId()
  const now = deps.now().toISOString()
  const identityProvider = log?.identityProvider?.() ?? null
  let adopt = false
  try {
    return await deps.store.write(async (tx) => {
      const policy = await tx.orgs.policy(orgId)
      checkSchemaVersion(policy, rs)
      checkDomains(policy, v.body, null)
      checkUndeclared(policy, v.unknown)
      const pending = policy.settings.sendInvitations
      // The stored text is the answer's too: the 201 renders as a GET of the user would (render.ts).
      const json = JSON.stringify(v.body)
      const row: UserRow = {
        id, version: 1, created: now, lastModified: now, body: v.body, json, groups: [],
        directory: { managedBy: 'scim', identityProvider, customAttributes: v.unknown, pending, metadata: null },
      }
      adopt = policy.settings.adoptExisting
      await tx.insertUser(orgId, { id, body: v.body, json, passwordHash, now, identityProvider, customAttributes: v.unknown, managedBy: 'scim', pending, metadata: null })
      await keepUnique(tx, orgId, rs, id, null, v.body)
      await tx.insertEvents(orgId, [userCreated(eventContext(deps, orgId, now, policy.settings.attributeMapping), row)])
      await log?.record(tx, orgId, { resourceType: 'User', resourceId: id, before: null, after: v.body, secrets: passwordHash === null ? [] : ['password'] })
      return row
    }, deps.deadline)
  } catch (e) {
    const holder = e instanceof UniqueViolation && e.what === 'userName' ? await appUserNamed(deps, orgId, v.body.userName) : null
    if (holder === null) return userNameTaken(deps, orgId, v.body.userName, e)
    if (!adopt) throw adoptionRefused(v.body.userName, holder)
    const adopted = await adoptUser(deps, orgId, holder, v, passwordHash, identityProvider, log, rs)
    if (adopted !== null) return adopted
    // The application's user was renamed or taken over between the failed insert and the
    // takeover's lock (reads outside a transaction): the create starts over, once.
    if (retried) throw new ScimError(409, 'uniqueness', `userName ${quote(v.body.userName)} is already taken`)
    return createUserWith(deps, orgId, input, log, rs, true)
  }
}

function adoptionRefused(userName: unknown, holder: string): ScimError {
  return new ScimError(409, 'uniqueness', `userName ${quote(userName)} belongs to User ${quote(holder)}, which the application created; ` +
    'an identity provider does not take over such a user unless the organization allows adoption (adoptExisting)')
}

/** The organization's policy, read in this transaction at most once, and only if asked for. */
function policyOf(tx: StoreTx, orgId: OrgId): () => Promise<OrgPolicy> {
  let read: Promise<OrgPolicy> | null = null
  return () => (read ??= tx.orgs.policy(orgId))
}

/**
 * A SCIM write to a user the application created: refused (409) unless the organization allows
 * adoption, in which case the write takes the user over (true). An identity provider that
 * matched the user by userName (Entra ID and Okta look a user up before creating it) is told
 * why in its provisioning log rather than silently taking it over.
 */
async function mayAdopt(policy: () => Promise<OrgPolicy>, cur: UserRow): Promise<boolean> {
  if (cur.directory?.managedBy !== 'app') return false
  if ((await policy()).settings.adoptExisting) return true
  throw new ScimError(409, null, `User ${quote(cur.id)} was created by the application, not by an identity provider; ` +
    'an identity provider does not take over such a user unless the organization allows adoption (adoptExisting)')
}

/** The id of the application-created user holding this userName, if that is who holds it. */
async function appUserNamed(deps: Deps, orgId: OrgId, userName: unknown): Promise<string | null> {
  if (typeof userName !== 'string') return null
  const holder = await deps.store.directoryUser(orgId, 'userName', userName)
  return holder?.directory?.managedBy === 'app' ? holder.id : null
}

/**
 * The organization allows adoption: the identity provider's create becomes a replace of the
 * application's user, which becomes SCIM-managed (`user.adopted`, then the update's events).
 * Null when the user no longer is the application's user of that userName (the caller's reads
 * were outside this transaction): the create starts over.
 */
async function adoptUser(
  deps: Deps, orgId: OrgId, id: string, v: ReturnType<typeof validateResource>, passwordHash: string | null, identityProvider: string | null, log: WriteLog | undefined,
  rs: ResourceSchema,
): Promise<UserRow | null> {
  const now = deps.now().toISOString()
  const named = typeof v.body.userName === 'string' ? fold(v.body.userName) : null
  return deps.store.write(async (tx): Promise<UserRow | null> => {
    const cur = await tx.getUserForUpdate(orgId, id)
    if (!cur || cur.directory?.managedBy !== 'app' || typeof cur.body.userName !== 'string' || fold(cur.body.userName) !== named) return null
    const policy = await tx.orgs.policy(orgId)
    // Adoption may have been turned off since the failed insert read the policy.
    if (!policy.settings.adoptExisting) throw adoptionRefused(v.body.userName, id)
    checkSchemaVersion(policy, rs)
    checkDomains(policy, v.body, null)
    await keepUnique(tx, orgId, rs, id, cur.body, v.body)
    await tx.updateUser(orgId, id, v.body, cur.body, passwordHash ?? undefined, cur.version, now, v.unknown)
    await tx.adoptUser(orgId, id, identityProvider)
    const after: UserRow = {
      id, version: cur.version + 1, created: cur.created, lastModified: now, body: v.body, groups: [],
      directory: { ...(cur.directory as DirectoryInfo), managedBy: 'scim', identityProvider, customAttributes: v.unknown },
    }
    const logged = { resourceType: 'User' as const, resourceId: id, before: cur.body, after: v.body, secrets: passwordHash === null ? [] : ['password'] }
    const ctx = eventContext(deps, orgId, now, policy.settings.attributeMapping)
    await tx.insertEvents(orgId, [userEvent(ctx, 'user.adopted', after, { previouslyManagedBy: 'app' }), ...userUpdated(ctx, cur, after, logged)])
    await log?.record(tx, orgId, logged)
    return after
  }, deps.deadline).catch((e: unknown) => userNameTaken(deps, orgId, v.body.userName, e))
}

/** GET /Users/{id}. */
export async function getUser(deps: Deps, orgId: OrgId, id: string, withMembership: boolean): Promise<UserRow> {
  const row = await deps.store.getUser(orgId, id, { withMembership, deadline: deps.deadline })
  if (!row) throw notFound('User', id)
  return row
}

/** GET /Users and POST /Users/.search. */
export function listUsers(deps: Deps, orgId: OrgId, p: ListParams, withMembership: boolean, rs: ResourceSchema): Promise<ListResult<UserRow>> {
  return deps.store.listUsers(orgId, { ...toListQuery(p), rs }, { withMembership, deadline: deps.deadline })
}

/**
 * `row` with the user's groups as its own write's transaction sees them: the answer to a PUT or
 * PATCH shows the user as this write left it (RFC 7644 §3.5.1). Read after the commit, the groups
 * could be a later write's (a DELETE of the user meanwhile answered the PUT with none; found by
 * test/reliability/scheduled-model.test.ts).
 */
function withGroups(row: UserRow, groups: readonly GroupRef[]): UserRow {
  return { ...ownFields(row), groups }
}

/** Runs a read-modify-write of one user; returns the stored row, or the unchanged one when nothing changed, with its groups. */
async function modifyUser(
  deps: Deps, orgId: OrgId, id: string, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema,
  change: (current: UserRow) => { body: Record<string, unknown>; passwordHash: string | null | undefined; changed: boolean; customAttributes?: Record<string, unknown> | null },
): Promise<UserRow> {
  const now = deps.now().toISOString()
  let userName: unknown
  try {
    return await deps.store.write(async (tx) => {
      const cur = await tx.getUserForUpdate(orgId, id)
      if (!cur) throw notFound('User', id)
      checkIfMatch(ifMatch, cur.version)
      const policy = policyOf(tx, orgId)
      const adopting = await mayAdopt(policy, cur)
      const next = change(cur)
      if (next.customAttributes) checkUndeclared(await policy(), introduced(cur.directory?.customAttributes ?? null, next.customAttributes))
      // Taking a user over is a change even when the body is the same.
      if (adopting) next.changed = true
      userName = next.body.userName
      // The domains are read only when the write changes what they govern.
      if (next.changed && (!isDeepStrictEqual(cur.body.userName, next.body.userName) || !isDeepStrictEqual(cur.body.emails, next.body.emails))) {
        checkDomains(await policy(), next.body, cur.body)
      }
      if (!next.changed) {
        await log?.record(tx, orgId, { resourceType: 'User', resourceId: id, before: cur.body, after: cur.body })
        return withGroups(cur, await tx.userGroups(orgId, id))
      }
      // Read (and on PostgreSQL held) before the write: the declarations the change was validated with.
      checkSchemaVersion(await policy(), rs)
      await keepUnique(tx, orgId, rs, id, cur.body, next.body)
      await tx.updateUser(orgId, id, next.body, cur.body, next.passwordHash, cur.version, now, next.customAttributes)
      const after: UserRow = {
        id, version: cur.version + 1, created: cur.created, lastModified: now, body: next.body,
        directory: {
          ...cur.directory, managedBy: cur.directory?.managedBy ?? 'scim', identityProvider: cur.directory?.identityProvider ?? null,
          customAttributes: next.customAttributes === undefined ? cur.directory?.customAttributes ?? null : next.customAttributes,
        },
      }
      const logged = { resourceType: 'User' as const, resourceId: id, before: cur.body, after: next.body, secrets: next.passwordHash === undefined ? [] : ['password'] }
      const ctx = eventContext(deps, orgId, now, (await policy()).settings.attributeMapping)
      if (adopting) {
        const identityProvider = log?.identityProvider?.() ?? null
        await tx.adoptUser(orgId, id, identityProvider)
        const adopted: UserRow = { ...after, directory: { ...(after.directory as DirectoryInfo), managedBy: 'scim', identityProvider } }
        await tx.insertEvents(orgId, [userEvent(ctx, 'user.adopted', adopted, { previouslyManagedBy: 'app' }), ...userUpdated(ctx, cur, adopted, logged)])
        await log?.record(tx, orgId, logged)
        return withGroups(adopted, await tx.userGroups(orgId, id))
      }
      await tx.insertEvents(orgId, userUpdated(ctx, cur, after, logged))
      await log?.record(tx, orgId, logged)
      return withGroups(after, await tx.userGroups(orgId, id))
    }, deps.deadline)
  } catch (e) {
    return userNameTaken(deps, orgId, userName, e)
  }
}

/** The undeclared attributes a write sets that the user did not hold with the same value. */
function introduced(before: Readonly<Record<string, unknown>> | null, after: Readonly<Record<string, unknown>>): Record<string, unknown> | null {
  const out = Object.entries(after).filter(([k, v]) => !isDeepStrictEqual(before?.[k], v))
  return out.length === 0 ? null : Object.fromEntries(out)
}

/** PUT /Users/{id}: replaces the body; readOnly values are ignored, `id` cannot change (RFC 7644 §3.5.1). */
export function replaceUser(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<UserRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => replaceUserWith(deps, orgId, id, input, ifMatch, log, current))
}

async function replaceUserWith(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<UserRow> {
  const v = validateResource(rs, input, { mode: 'replace' })
  for (const n of v.notes) log?.note?.(n)
  // A PUT without a password keeps the stored one: identity providers send it only to set it.
  const passwordHash = v.password === null ? undefined : await hashPassword(v.password)
  // A PUT that repeats the stored user (Okta sends the whole profile on every push) changes
  // nothing: no write, no new version, no event (RFC 7644 §3.14: the ETag names the representation).
  return modifyUser(deps, orgId, id, ifMatch, log, rs, (cur) => ({
    body: v.body, passwordHash, customAttributes: v.unknown,
    changed: passwordHash !== undefined || !isDeepStrictEqual(cur.body, v.body) || !isDeepStrictEqual(cur.directory?.customAttributes ?? null, v.unknown),
  }))
}

/** The password a PATCH sets, found before the transaction so it can be hashed outside it. */
function passwordSetBy(ops: readonly PatchOperation[]): string | null {
  let found: string | null = null
  for (const op of ops) {
    if (op.op === 'remove') continue
    if (op.path !== null) {
      if (op.path.path.name.toLowerCase() === 'password' && typeof op.value === 'string') found = op.value
    } else if (typeof op.value === 'object' && op.value !== null) {
      for (const [k, v] of Object.entries(op.value)) if (k.toLowerCase() === 'password' && typeof v === 'string') found = v
    }
  }
  return found
}

/** PATCH /Users/{id} (RFC 7644 §3.5.2): all operations or none. */
export function patchUser(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<UserRow> {
  return withCurrentSchemas(deps, orgId, rs, (current) => patchUserWith(deps, orgId, id, input, ifMatch, log, current))
}

async function patchUserWith(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined, log: WriteLog | undefined, rs: ResourceSchema): Promise<UserRow> {
  const ops = normalizePatch(rs, input, { maxOperations: deps.limits.maxPatchOperations, onBareValue: (word) => log?.note?.(bareValueNote(word)) })
  const newPassword = passwordSetBy(ops)
  const newHash = newPassword === null ? null : await hashPassword(newPassword)
  return modifyUser(deps, orgId, id, ifMatch, log, rs, (cur) => {
    // Undeclared attributes are kept with the user, as a create keeps them (docs/compatibility.md).
    const r = applyPatch(rs, cur.body, ops, cur.directory?.customAttributes ?? null)
    if (r.members) throw new ScimError(400, 'invalidPath', 'Users have no members')
    for (const n of r.notes) log?.note?.(n)
    const passwordHash = r.password === undefined ? undefined : r.password === null ? null : r.password === newPassword ? newHash : undefined
    return { body: r.body, passwordHash, changed: r.changed, ...(r.custom !== undefined ? { customAttributes: r.custom } : {}) }
  })
}

/**
 * DELETE /Users/{id}: removes the user and its memberships (RFC 7644 §3.6); each group it left
 * moves to a new version and says so with a `group.member_removed`. Under the policy
 * `deprovision: suspend` the user is kept, `deleted`, for the directory API until the sweep
 * removes it after `deleteAfterDays` (`user.deactivated` now, `user.deleted` then); SCIM sees
 * it gone at once either way.
 */
export async function deleteUser(deps: Deps, orgId: OrgId, id: string, ifMatch: string | undefined, log?: WriteLog): Promise<void> {
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    const cur = await tx.getUserForUpdate(orgId, id)
    if (!cur) throw notFound('User', id)
    checkIfMatch(ifMatch, cur.version)
    const policy = policyOf(tx, orgId)
    await mayAdopt(policy, cur)
    const { settings } = await policy()
    const ctx = eventContext(deps, orgId, now, settings.attributeMapping)
    const groups = (await tx.deleteUser(orgId, id, now)) ?? []
    const removed = groups.map((g) => memberRemovedByDelete(ctx, g, id, 'User'))
    if (settings.deprovision === 'suspend') {
      const kept: UserRow = { ...cur, body: cur.body, version: cur.version + 1, lastModified: now }
      const shape = { ...apiUser(kept, settings.attributeMapping), state: 'deleted' as const }
      await tx.keepDeletedUser(orgId, id, { deletedAt: now, purgeAt: new Date(Date.parse(now) + settings.deleteAfterDays * 86_400_000).toISOString(), data: shape })
      await tx.insertEvents(orgId, [deletedUserEvent(ctx, 'user.deactivated', shape), ...removed])
    } else {
      await tx.insertEvents(orgId, [userDeleted(ctx, cur), ...removed])
    }
    await log?.record(tx, orgId, { resourceType: 'User', resourceId: id, before: cur.body, after: null })
  }, deps.deadline)
}
