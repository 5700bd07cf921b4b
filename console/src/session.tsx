// The signed-in account: read once from GET /console/session (which gives the CSRF token), kept
// in a context for every page.
import { createContext, useContext } from 'react'
export interface SessionView {
  account: { id: string; email: string; operator: boolean }
  roles: { orgId: string; orgName: string; role: 'admin' | 'viewer' }[]
  csrfToken: string
  expiresAt: string
}

export const SessionContext = createContext<{ session: SessionView; refresh: () => void } | null>(null)

export function useSession(): { session: SessionView; refresh: () => void } {
  const s = useContext(SessionContext)
  if (!s) throw new Error('no session')
  return s
}

/** Whether the signed-in account may change the organization (an admin, or the operator). */
export function canAdmin(session: SessionView, orgId: string): boolean {
  return session.account.operator || session.roles.some((r) => r.orgId === orgId && r.role === 'admin')
}
