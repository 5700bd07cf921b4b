// What each console role may do, as API scopes (provisioning/api-keys.ts): the console calls the
// same /api/v1 routes an application does, and each route's scope check applies to a session
// through this table. An organization's `admin` holds every scope in that organization, a
// `viewer` only the reading ones; the `operator` is an admin of every organization.
import type { Scope } from '../provisioning/api-keys.ts'
import type { ConsoleRole } from '../store/console-store.ts'

export const ROLES: readonly ConsoleRole[] = ['admin', 'viewer']

// webhooks:read shows a viewer the endpoints and their deliveries; changing them, redelivering
// and replaying take webhooks:manage, which a viewer does not hold.
const VIEWER: readonly Scope[] = ['directory:read', 'events:read', 'webhooks:read', 'log:read']

export function roleHasScope(role: ConsoleRole | 'operator', scope: Scope): boolean {
  return role === 'viewer' ? VIEWER.includes(scope) : true
}

export function isRole(v: unknown): v is ConsoleRole {
  return v === 'admin' || v === 'viewer'
}
