// API keys for /api/v1: created (shown once), listed (never the secret), revoked at once. A key
// belongs to one organization or, without one, to the operator (every organization); it carries
// scopes and may expire (docs/api.md).
import { generateApiKey } from '../orgs/api-keys.ts'
import type { ApiKeyRow, OrgId } from '../store/store.ts'
import type { Deps } from './deps.ts'

/**
 * Every scope a key can hold; `*` stands for all of them (the operator's keys from before scopes).
 * `org:admin`: the organization's settings, domains and audit log (docs/api.md). `webhooks:read`:
 * the endpoints and their attempts, without changing them; `webhooks:manage` holds it.
 */
export const SCOPES = ['directory:read', 'directory:write', 'events:read', 'webhooks:read', 'webhooks:manage', 'log:read', 'org:admin'] as const
export type Scope = (typeof SCOPES)[number]

export class ApiKeyError extends Error {
  constructor(readonly code: 'ROSTER_ERR_API_KEY_NOT_FOUND' | 'ROSTER_ERR_API_KEY_NAME' | 'ROSTER_ERR_API_KEY_SCOPE' | 'ROSTER_ERR_API_KEY_EXPIRES', message: string) {
    super(message)
    this.name = 'ApiKeyError'
  }
}

/** `directory:read,events:read` (commas or spaces) as a checked scope list; empty or absent: every scope. */
export function parseScopes(raw: string | readonly string[] | undefined): string[] {
  const parts = (typeof raw === 'string' ? raw.split(/[\s,]+/) : raw ?? []).map((s) => s.trim()).filter((s) => s !== '')
  if (parts.length === 0 || parts.includes('*')) return ['*']
  for (const p of parts) {
    if (!(SCOPES as readonly string[]).includes(p)) throw new ApiKeyError('ROSTER_ERR_API_KEY_SCOPE', `Unknown scope "${p}"; scopes are ${SCOPES.join(', ')}`)
  }
  return [...new Set(parts)]
}

/** `--expires`: an ISO 8601 instant or a duration from now (`30d`, `12h`); null for never. */
export function parseExpiry(raw: string | undefined, now: Date): string | null {
  if (raw === undefined || raw === '' || raw === 'never') return null
  const m = /^(\d{1,5})([mhd])$/.exec(raw)
  const at = m ? new Date(now.getTime() + Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']) : new Date(raw)
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(m ? at.toISOString() : raw)) {
    throw new ApiKeyError('ROSTER_ERR_API_KEY_EXPIRES', `--expires must be an ISO 8601 time or a duration such as 30d, got "${raw}"`)
  }
  if (at.getTime() <= now.getTime()) throw new ApiKeyError('ROSTER_ERR_API_KEY_EXPIRES', 'An API key must expire in the future')
  return at.toISOString()
}

/** Whether a key holds `scope`. */
export function hasScope(key: Pick<ApiKeyRow, 'scopes'>, scope: Scope): boolean {
  return key.scopes.includes('*') || key.scopes.includes(scope)
}

export interface NewKeyRequest {
  readonly name?: string
  /** The organization the key is for; null for an operator key. */
  readonly orgId: OrgId | null
  readonly scopes: readonly string[]
  readonly expiresAt: string | null
}

/** Creates a key; the secret is returned once and stored only as its hash. */
export async function createApiKey(deps: Deps, req: NewKeyRequest): Promise<{ id: string; name: string; key: string; prefix: string; orgId: OrgId | null; scopes: readonly string[]; expiresAt: string | null }> {
  const trimmed = (req.name ?? 'default').trim()
  if (trimmed === '' || trimmed.length > 200) throw new ApiKeyError('ROSTER_ERR_API_KEY_NAME', 'An API key name must be 1 to 200 characters')
  const k = generateApiKey()
  const id = deps.newId()
  const orgId = req.orgId
  await deps.store.write(async (tx) => {
    // The organization held (PostgreSQL: KEY SHARE), so a deletion in flight commits first and
    // the key is refused (OrgGone) instead of outliving its organization.
    if (orgId !== null) await tx.orgs.holdShared(orgId)
    await tx.insertApiKey({
      id, name: trimmed, hash: k.hash, prefix: k.prefix, now: deps.now().toISOString(), orgId, scopes: req.scopes, expiresAt: req.expiresAt,
    })
  })
  return { id, name: trimmed, key: k.key, prefix: k.prefix, orgId: req.orgId, scopes: req.scopes, expiresAt: req.expiresAt }
}

export function listApiKeys(deps: Deps): Promise<readonly ApiKeyRow[]> {
  return deps.store.listApiKeys()
}

/** Revokes the live keys with this id or name; they stop working at the next request. */
export async function revokeApiKey(deps: Deps, idOrName: string): Promise<number> {
  const n = await deps.store.write((tx) => tx.revokeApiKey(idOrName, deps.now().toISOString()))
  if (n === 0) throw new ApiKeyError('ROSTER_ERR_API_KEY_NOT_FOUND', `No live API key with id or name "${idOrName}"`)
  return n
}
