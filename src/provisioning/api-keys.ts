// Vendor API keys: created (shown once), listed (never the secret), revoked at once.
import { generateApiKey } from '../orgs/api-keys.ts'
import type { ApiKeyRow } from '../store/store.ts'
import type { Deps } from './deps.ts'

export class ApiKeyError extends Error {
  constructor(readonly code: 'ROSTER_ERR_API_KEY_NOT_FOUND' | 'ROSTER_ERR_API_KEY_NAME', message: string) {
    super(message)
    this.name = 'ApiKeyError'
  }
}

/** Creates a key; the secret is returned once and stored only as its hash. */
export async function createApiKey(deps: Deps, name: string | undefined): Promise<{ id: string; name: string; key: string; prefix: string }> {
  const trimmed = (name ?? 'default').trim()
  if (trimmed === '' || trimmed.length > 200) throw new ApiKeyError('ROSTER_ERR_API_KEY_NAME', 'An API key name must be 1 to 200 characters')
  const k = generateApiKey()
  const id = deps.newId()
  await deps.store.write((tx) => tx.insertApiKey({ id, name: trimmed, hash: k.hash, prefix: k.prefix, now: deps.now().toISOString() }))
  return { id, name: trimmed, key: k.key, prefix: k.prefix }
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
