// The tenant URL an identity provider is given (`roster org create`, `roster org show`): the
// base URL the running server really serves, not one rebuilt from the command's environment.
// `roster serve` records its base URL (ROSTER_PUBLIC_URL, or else the address it listens on) in
// the database when it starts (migration 0013); a command that runs beside it in another process,
// with no ROSTER_PUBLIC_URL of its own, reads it there (docs/operations.md, "The tenant URL").
import type { Config } from '../config.ts'
import type { Store } from '../store/store.ts'

const NAME = 'public_url'

export interface TenantBase {
  /** The base URL, without /scim/v2. */
  readonly url: string
  /** Where it came from: this process's ROSTER_PUBLIC_URL, what a server recorded, or this process's HOST and PORT (no server has started on this database). */
  readonly source: 'ROSTER_PUBLIC_URL' | 'server' | 'HOST and PORT'
}

/** Called by a server once it listens: `address` is where it listens (`http://HOST:PORT`). */
export async function recordServerBase(store: Store, config: Pick<Config, 'publicUrl'>, address: string, now: Date): Promise<void> {
  await store.serverInfo.record(NAME, config.publicUrl ?? address, now.toISOString())
}

export async function tenantBase(store: Store, config: Pick<Config, 'publicUrl' | 'host' | 'port'> & Partial<Pick<Config, 'tls'>>): Promise<TenantBase> {
  if (config.publicUrl !== null) return { url: config.publicUrl, source: 'ROSTER_PUBLIC_URL' }
  const recorded = await store.serverInfo.read(NAME)
  if (recorded !== null) return { url: recorded.value, source: 'server' }
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host.includes(':') ? `[${config.host}]` : config.host
  // A server given ROSTER_TLS_CERT_FILE serves https itself (http/tls.ts).
  return { url: `${config.tls ? 'https' : 'http'}://${host}:${config.port}`, source: 'HOST and PORT' }
}

export function tenantUrl(base: TenantBase): string {
  return `${base.url}/scim/v2`
}

/**
 * Why identity providers would refuse the tenant URL (plain http, or a loopback address they
 * cannot reach), null when none. Entra ID requires HTTPS for a SCIM endpoint's tenant URL
 * (Microsoft: "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID");
 * a cloud identity provider cannot reach this machine's loopback address.
 */
export function tenantUrlWarning(base: TenantBase): string | null {
  const url = tenantUrl(base)
  const u = new URL(url)
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i.test(u.hostname)
  const unknown = base.source === 'HOST and PORT'
    ? ' no server has started on this database yet, so it is built from HOST and PORT;' : ''
  if (u.protocol === 'https:' && !loopback) return null
  const why = loopback ? 'a loopback address, which identity providers cannot reach' : 'plain http, which identity providers (Entra ID, Okta) refuse'
  return `${url} is ${why}:${unknown} serve HTTPS (ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE) or put Roster behind a TLS proxy, and set ROSTER_PUBLIC_URL to the public https address (docs/operations.md)`
}
