// An organization's SCIM tokens as the console manages them (docs/console.md, "Token"):
// - refresh (also the first "generate"): a new token, every earlier one revoked in the same
//   transaction (as `roster token refresh`), with its `token.refreshed` event;
// - rotate: a second token beside the live one, so that the identity provider can be switched
//   without a failed request; the first request made with the new token revokes the older one
//   (ConsoleStore.tokenUsed), or the admin revokes it by hand;
// - revoke one token.
// Each writes an audit entry naming the console account. The token is returned once; only its
// last four characters are kept in the clear.
import { tokenRefreshed } from '../events/build.ts'
import { uuidV7Floor } from '../ids.ts'
import { NO_MAPPING } from '../orgs/settings.ts'
import { generateToken } from '../orgs/tokens.ts'
import type { Deps } from '../provisioning/deps.ts'
import type { TokenMeta } from '../store/console-store.ts'
import type { OrgId, OrgRow } from '../store/store.ts'
import { ConsoleError } from './accounts.ts'

export interface TokenView {
  readonly tokens: readonly Omit<TokenMeta, 'rotating'>[]
  /** A rotation is under way: the newest token waits for the identity provider's first use. */
  readonly rotating: boolean
}

export async function tokenView(deps: Deps, orgId: OrgId): Promise<TokenView> {
  const tokens = await deps.store.console.tokens(orgId)
  return { tokens: tokens.map(({ rotating: _r, ...t }) => t), rotating: tokens.some((t) => t.rotating) }
}

export async function refreshScimToken(deps: Deps, orgId: OrgId, actor: string): Promise<{ id: string; token: string; lastFour: string; createdAt: string }> {
  const t = generateToken()
  const id = deps.newId()
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    // Held first: a second refresh waits, then revokes this one's token (each revokes the live
    // tokens it sees; two at once each left the other's new token live). A deletion in flight
    // commits first, so no token outlives its organization.
    await tx.orgs.hold(orgId)
    await tx.replaceToken(orgId, { id, hash: t.hash, prefix: t.prefix, lastFour: t.lastFour, now })
    await tx.insertEvents(orgId, [tokenRefreshed({ orgId, at: now, newId: deps.newId, mapping: NO_MAPPING }, { id, prefix: t.prefix })])
    await tx.orgs.insertAudit(orgId, { id: deps.newId(), at: now, actor, action: 'token.refreshed', details: { tokenId: id, lastFour: t.lastFour } })
  })
  return { id, token: t.token, lastFour: t.lastFour, createdAt: now }
}

export async function rotateScimToken(deps: Deps, orgId: OrgId, actor: string): Promise<{ id: string; token: string; lastFour: string; createdAt: string }> {
  const live = await deps.store.console.tokens(orgId)
  if (live.length === 0) throw new ConsoleError('conflict', 'The organization has no token to rotate: generate one')
  const t = generateToken()
  const id = deps.newId()
  const now = deps.now().toISOString()
  await deps.store.console.addToken(orgId, { id, hash: t.hash, prefix: t.prefix, lastFour: t.lastFour, now }, { rotating: true, revokeOthers: false },
    { id: deps.newId(), at: now, actor, action: 'token.rotated', details: { tokenId: id, lastFour: t.lastFour } })
  return { id, token: t.token, lastFour: t.lastFour, createdAt: now }
}

export async function revokeScimToken(deps: Deps, orgId: OrgId, tokenId: string, actor: string): Promise<void> {
  const now = deps.now().toISOString()
  const ok = await deps.store.console.revokeToken(orgId, tokenId, now, { id: deps.newId(), at: now, actor, action: 'token.revoked', details: { tokenId } })
  if (!ok) throw new ConsoleError('not_found', 'No live token with this id')
}

export interface OrgHealth {
  readonly firstRequestAt: string | null
  readonly firstRequestBy: string | null
  readonly lastRequestAt: string | null
  readonly lastRequestBy: string | null
  /** Failed SCIM requests (4xx and 5xx) in the last 24 hours, counted up to `ERRORS_COUNTED`. */
  readonly errorsLastDay: number
  readonly liveTokens: number
}

export const ERRORS_COUNTED = 1_000

/**
 * Failed SCIM requests of the last 24 hours, counted in SQL on the log's failure index
 * (migration 0004), up to ERRORS_COUNTED per status class.
 */
export async function errorsLastDay(deps: Deps, orgId: OrgId): Promise<number> {
  const sinceId = uuidV7Floor(deps.now().getTime() - 86_400_000)
  let errors = 0
  for (const statusClass of [4, 5]) {
    errors += await deps.store.countLog(orgId, { before: null, sinceId, status: null, statusClass, resourceId: null, limit: ERRORS_COUNTED })
  }
  return Math.min(errors, ERRORS_COUNTED)
}

/** When the identity provider first and last reached the organization, and its recent failures. */
export async function orgHealth(deps: Deps, org: Pick<OrgRow, 'id'>): Promise<OrgHealth> {
  const status = await deps.store.console.scimStatus(org.id)
  const tokens = await deps.store.console.tokens(org.id)
  return {
    firstRequestAt: status.firstAt, firstRequestBy: status.firstBy, lastRequestAt: status.lastAt, lastRequestBy: status.lastBy,
    errorsLastDay: await errorsLastDay(deps, org.id), liveTokens: tokens.length,
  }
}

/** Records the identity provider's use of a token, at most once a minute per token and process. */
export function tokenUseRecorder(deps: Deps, onError: (err: unknown) => void): (hash: string, identityProvider: string) => Promise<void> {
  const last = new Map<string, number>()
  return async (hash, identityProvider) => {
    const now = deps.now()
    const at = last.get(hash)
    if (at !== undefined && now.getTime() - at < 60_000) return
    if (last.size > 10_000) last.clear()
    last.set(hash, now.getTime())
    try {
      // Awaited: a rotating token's first use revokes the older ones before this request is answered.
      await deps.store.console.tokenUsed(hash, identityProvider, now.toISOString())
    } catch (err) {
      last.delete(hash)
      onError(err)
    }
  }
}
