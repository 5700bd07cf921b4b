// The application's own writes to the directory (docs/policies.md, "SCIM-managed users"): users
// it creates itself (`managedBy: "app"`), and changes to a user's fields through the directory
// API. On a SCIM-managed user the fields the organization lists as SCIM-owned (Verkada's
// example: phone numbers) belong to the identity provider and are refused with 409; the
// application's `metadata` is its own on every user, and SCIM never reads or writes it. The
// bodies are the directory API's shape (directory/shape.ts) made into SCIM's, so that one
// validator and one store serve both.
import { isDeepStrictEqual } from 'node:util'
import { userCreated, userUpdated } from '../events/build.ts'
import type { ScimOwnedField } from '../orgs/settings.ts'
import { ScimError } from '../scim/errors.ts'
import { validateResource } from '../scim/resource.ts'
import { userResource, type ResourceSchema } from '../scim/schema/registry.ts'
import type { OrgId, UserRow } from '../store/store.ts'
import { UniqueViolation } from '../store/store.ts'
import { checkIfMatch } from './common.ts'
import type { Deps } from './deps.ts'
import { orgResources } from './org-schemas.ts'
import { checkSchemaVersion, keepUnique, withCurrentSchemas } from './unique.ts'
import { eventContext } from './users.ts'

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

type Json = Record<string, unknown>

/** The fields the application may send, each with where it goes in the SCIM body. */
const FIELDS = [
  'userName', 'externalId', 'name', 'displayName', 'nickName', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone',
  'active', 'email', 'emails', 'phoneNumbers', 'addresses', 'enterprise', 'metadata',
] as const
type Field = (typeof FIELDS)[number]

/** A refusal of the application's write, with the directory API's status and code. */
export class AppWriteError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Json = {}) {
    super(message)
    this.name = 'AppWriteError'
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The SCIM-owned field a directory field belongs to (`email` is `emails`). */
function ownerField(f: Field): ScimOwnedField | null {
  if (f === 'metadata') return null
  return f === 'email' ? 'emails' : f
}

function checkFields(input: Json): void {
  const unknown = Object.keys(input).filter((k) => !(FIELDS as readonly string[]).includes(k))
  if (unknown.length > 0) {
    throw new AppWriteError(400, 'invalid_body', `Unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; a user takes ${FIELDS.join(', ')}`)
  }
  if ('metadata' in input && input.metadata !== null && !isObject(input.metadata)) throw new AppWriteError(400, 'invalid_body', 'metadata must be an object or null')
  if ('email' in input && 'emails' in input) throw new AppWriteError(400, 'invalid_body', 'Send email or emails, not both')
}

/** Directory shape → SCIM body: the listed fields replace what `base` holds. */
function toScimBody(base: Json, input: Json): Json {
  const body: Json = { ...base }
  for (const [k, v] of Object.entries(input)) {
    if (k === 'metadata') continue
    if (k === 'email') {
      body.emails = v === null ? [] : [{ value: v, type: 'work', primary: true }]
    } else if (k === 'enterprise') {
      if (v === null) delete body[ENTERPRISE]
      else if (isObject(v)) {
        const { manager, ...rest } = v
        body[ENTERPRISE] = { ...rest, ...(isObject(manager) && typeof manager.id === 'string' ? { manager: { value: manager.id } } : {}) }
      } else body[ENTERPRISE] = v
    } else if (v === null) {
      delete body[k]
    } else {
      body[k] = v
    }
  }
  return body
}

function validated(body: Json, mode: 'create' | 'replace', rs: ResourceSchema = userResource): ReturnType<typeof validateResource> {
  try {
    return validateResource(rs, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], ...body }, { mode })
  } catch (e) {
    if (e instanceof ScimError) throw new AppWriteError(400, 'invalid_body', e.message)
    throw e
  }
}

function taken(e: unknown, userName: unknown): never {
  if (e instanceof UniqueViolation && e.what === 'userName') throw new AppWriteError(409, 'user_name_taken', `userName "${String(userName)}" is already taken in this organization`)
  // A value of an attribute the organization declared unique (provisioning/unique.ts).
  if (e instanceof ScimError && e.status === 409) throw new AppWriteError(409, 'value_taken', e.message)
  throw e
}

/** POST /api/v1/orgs/{org}/users: a user the application manages; `active` at once (no invitation). */
export async function createAppUser(deps: Deps, orgId: OrgId, input: unknown): Promise<UserRow> {
  if (!isObject(input)) throw new AppWriteError(400, 'invalid_body', 'The body must be a JSON object')
  checkFields(input)
  if (typeof input.userName !== 'string' || input.userName === '') throw new AppWriteError(400, 'invalid_body', 'userName is required')
  const v = validated(toScimBody({}, input), 'create')
  const metadata = isObject(input.metadata) ? input.metadata : null
  const id = deps.newId()
  const now = deps.now().toISOString()
  const row: UserRow = {
    id, version: 1, created: now, lastModified: now, body: v.body, groups: [],
    directory: { managedBy: 'app', identityProvider: null, customAttributes: null, pending: false, metadata },
  }
  try {
    await deps.store.write(async (tx) => {
      await tx.insertUser(orgId, { id, body: v.body, passwordHash: null, now, identityProvider: null, customAttributes: null, managedBy: 'app', pending: false, metadata })
      await tx.insertEvents(orgId, [userCreated(eventContext(deps, orgId, now, (await tx.orgs.policy(orgId)).settings.attributeMapping), row)])
    })
  } catch (e) {
    return taken(e, input.userName)
  }
  return row
}

/**
 * PATCH /api/v1/orgs/{org}/users/{id}: the fields sent replace the stored ones (null removes
 * one; `metadata` is replaced whole). Refused with 409 `scim_owned_fields` when the user is
 * SCIM-managed and any field sent is one the organization's identity provider owns; nothing is
 * written then.
 */
export async function updateAppUser(deps: Deps, orgId: OrgId, id: string, input: unknown, ifMatch: string | undefined): Promise<UserRow> {
  if (!isObject(input)) throw new AppWriteError(400, 'invalid_body', 'The body must be a JSON object')
  checkFields(input)
  const now = deps.now().toISOString()
  try {
    // Validated against the organization's own resource type: its declared extensions' values
    // stay in the body, and their unique entries move with it (a standard-only validation moved
    // them out, and the write erased them while the unique index still named this user).
    return await withCurrentSchemas(deps, orgId, (await orgResources(deps, orgId)).user, (rs) => deps.store.write(async (tx) => {
      const cur = await tx.getUserForUpdate(orgId, id)
      if (!cur) throw new AppWriteError(404, 'not_found', 'No such user in this organization')
      try {
        checkIfMatch(ifMatch, cur.version)
      } catch {
        throw new AppWriteError(412, 'version_mismatch', `If-Match does not name the user's version (${cur.version})`)
      }
      const info = cur.directory
      if (info?.managedBy === 'scim') {
        const { settings } = await tx.orgs.policy(orgId)
        const owned = Object.keys(input).map((k) => k as Field).filter((f) => {
          const o = ownerField(f)
          return o !== null && settings.scimOwnedFields.includes(o)
        })
        if (owned.length > 0) {
          const idp = info.identityProvider ?? 'the identity provider'
          throw new AppWriteError(409, 'scim_owned_fields',
            `${owned.join(', ')} ${owned.length === 1 ? 'is' : 'are'} managed by ${idp} through SCIM for this user; change ${owned.length === 1 ? 'it' : 'them'} in ${idp}, which will provision the change`,
            { fields: owned, managedBy: 'scim', identityProvider: info.identityProvider })
        }
      }
      const policy = await tx.orgs.policy(orgId)
      checkSchemaVersion(policy, rs)
      const fields = Object.fromEntries(Object.entries(input).filter(([k]) => k !== 'metadata'))
      const v = validated(toScimBody(cur.body, fields), 'replace', rs)
      const metadata = 'metadata' in input ? (input.metadata as Json | null) : info?.metadata ?? null
      const bodyChanged = !isDeepStrictEqual(cur.body, v.body)
      const metadataChanged = !isDeepStrictEqual(info?.metadata ?? null, metadata)
      if (!bodyChanged && !metadataChanged) return cur
      // One new version for the change, whichever parts it touched.
      if (bodyChanged) {
        await keepUnique(tx, orgId, rs, id, cur.body, v.body)
        await tx.updateUser(orgId, id, v.body, cur.body, undefined, cur.version, now)
      }
      if (metadataChanged) await tx.setMetadata(orgId, id, metadata, now, !bodyChanged)
      const after: UserRow = {
        ...cur, version: cur.version + 1, lastModified: now, body: v.body,
        directory: { ...(info ?? { managedBy: 'app', identityProvider: null, customAttributes: null }), metadata },
      }
      const change = { resourceType: 'User' as const, resourceId: id, before: cur.body, after: v.body }
      await tx.insertEvents(orgId, userUpdated(eventContext(deps, orgId, now, policy.settings.attributeMapping), cur, after, change))
      return after
    }))
  } catch (e) {
    return taken(e, input.userName)
  }
}
