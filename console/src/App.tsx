// The console's shell: the session (or the sign-in page), the organization picker, the
// navigation and the page the URL's fragment names.
import { useCallback, useEffect, useState } from 'react'
import { api, setCsrf } from './api.ts'
import { Audit, Members, Operator, Webhooks } from './pages/admin.tsx'
import { Forgot, Link, SignIn } from './pages/auth.tsx'
import { GroupPage, Groups, UserPage, Users } from './pages/directory.tsx'
import { Log } from './pages/log.tsx'
import { SettingsPage } from './pages/settings.tsx'
import { Setup } from './pages/setup.tsx'
import { Token } from './pages/token.tsx'
import { PasswordPrompt } from './reauth.tsx'
import { SessionContext, type SessionView } from './session.tsx'
import { go, useRoute } from './ui.tsx'

const PAGES = [
  ['setup', 'SCIM setup'], ['token', 'Token'], ['settings', 'Settings'], ['users', 'Users'], ['groups', 'Groups'],
  ['log', 'Provisioning log'], ['webhooks', 'Webhooks'], ['audit', 'Audit log'], ['members', 'Members'],
] as const

export function App() {
  const { path, query } = useRoute()
  const [session, setSession] = useState<SessionView | null | undefined>(undefined)
  const load = useCallback(async () => {
    const { data } = await api.GET('/api/v1/console/session')
    if (data) setCsrf(data.csrfToken)
    setSession(data ?? null)
  }, [])
  useEffect(() => { void load() }, [load])

  const parts = path.split('/').filter(Boolean)
  if (parts[0] === 'link') return <Link token={query.get('token') ?? ''} setup={query.get('setup') === '1'} />
  if (parts[0] === 'forgot') return <Forgot />
  if (session === undefined) return <p className="narrow" role="status">Loading…</p>
  if (session === null) return <SignIn onSignedIn={() => { void load().then(() => go('/')) }} />

  const signOut = async (everywhere: boolean) => {
    await api.POST(everywhere ? '/api/v1/console/sign-out-everywhere' : '/api/v1/console/sign-out')
    setSession(null)
    go('/sign-in')
  }
  const firstOrg = session.roles[0]?.orgId
  let orgId = parts[0] === 'o' ? decodeURIComponent(parts[1] ?? '') : ''
  const page = parts[0] === 'o' ? parts[2] ?? 'setup' : parts[0] ?? ''
  if (!orgId && page !== 'operator') {
    if (firstOrg) orgId = firstOrg
    else if (session.account.operator) {
      go('/operator')
      return null
    }
  }
  const orgName = session.roles.find((r) => r.orgId === orgId)?.orgName ?? orgId
  const id = parts[3] ? decodeURIComponent(parts[3]) : ''

  let content = <p>You have no organization yet: ask an admin to invite you.</p>
  if (page === 'operator' && session.account.operator) content = <Operator />
  else if (orgId) {
    switch (page) {
      case 'token': content = <Token org={orgId} orgId={orgId} />; break
      case 'settings': content = <SettingsPage org={orgId} orgId={orgId} />; break
      case 'users': content = id ? <UserPage org={orgId} orgId={orgId} id={id} /> : <Users org={orgId} />; break
      case 'groups': content = id ? <GroupPage org={orgId} id={id} /> : <Groups org={orgId} />; break
      case 'log': content = <Log org={orgId} />; break
      case 'webhooks': content = <Webhooks org={orgId} orgId={orgId} />; break
      case 'audit': content = <Audit org={orgId} />; break
      case 'members': content = <Members org={orgId} orgId={orgId} />; break
      default: content = <Setup org={orgId} />
    }
  }

  return (
    <SessionContext.Provider value={{ session, refresh: () => void load() }}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus() }}>Skip to content</a>
      <header>
        <div className="row">
          <strong className="brand">Roster</strong>
          {session.roles.length > 0 && (
            <>
              <label htmlFor="org-picker" className="sr-only">Organization</label>
              <select id="org-picker" value={session.roles.some((r) => r.orgId === orgId) ? orgId : ''} onChange={(e) => go(`/o/${encodeURIComponent(e.target.value)}/${page === 'operator' ? 'setup' : page || 'setup'}`)}>
                {!session.roles.some((r) => r.orgId === orgId) && <option value="">{orgName || 'Choose an organization'}</option>}
                {session.roles.map((r) => <option key={r.orgId} value={r.orgId}>{r.orgName} ({r.role})</option>)}
              </select>
            </>
          )}
        </div>
        <div className="row">
          <span className="muted">{session.account.email}</span>
          <button type="button" className="secondary" onClick={() => void signOut(false)}>Sign out</button>
          <button type="button" className="secondary" onClick={() => void signOut(true)}>Sign out everywhere</button>
        </div>
      </header>
      <nav aria-label="Pages" className="tabs">
        {orgId && PAGES.map(([p, label]) => (
          <a key={p} href={`#/o/${encodeURIComponent(orgId)}/${p}`} aria-current={page === p || (p === 'setup' && !PAGES.some(([q]) => q === page) && page !== 'operator') ? 'page' : undefined}>{label}</a>
        ))}
        {session.account.operator && <a href="#/operator" aria-current={page === 'operator' ? 'page' : undefined}>Operator</a>}
      </nav>
      <main id="main" tabIndex={-1}>{content}</main>
      <PasswordPrompt email={session.account.email} />
    </SessionContext.Provider>
  )
}
