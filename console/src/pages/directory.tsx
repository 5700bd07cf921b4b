// Users and groups: server-side search through the SCIM filter of the directory API, a state
// filter, cursor paging; the "SCIM managed" tag and the identity provider on each row; a user's
// page with its locked fields and invitation, a group's page with its members a page at a time.
import { useState, type FormEvent } from 'react'
import { api, messageOf } from '../api.ts'
import { canAdmin, useSession } from '../session.tsx'
import { ErrorLine, Notice, Pager, useLoad, when } from '../ui.tsx'

/** A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string rules). */
function lit(s: string): string {
  return JSON.stringify(s)
}

export function userFilter(search: string): string | undefined {
  const q = search.trim()
  return q ? `userName co ${lit(q)} or emails.value co ${lit(q)} or displayName co ${lit(q)} or name.formatted co ${lit(q)}` : undefined
}

/** The directory API's `state` filter: pending (invited), active, suspended. */
const STATES = ['pending', 'active', 'suspended'] as const
type State = (typeof STATES)[number]

function ManagedTag({ managedBy, idp }: { managedBy: string; idp: string | null }) {
  return managedBy === 'scim' ? <span className="tag scim">SCIM managed{idp ? ` · ${idp}` : ''}</span> : <span className="tag app">App</span>
}

export function Users({ org }: { org: string }) {
  const [search, setSearch] = useState('')
  const [state, setState] = useState('all')
  const [applied, setApplied] = useState<{ filter?: string; state?: State; cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const { data, error } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/users', {
      params: { path: { org }, query: { limit: 25, ...(applied.filter ? { filter: applied.filter } : {}), ...(applied.state ? { state: applied.state } : {}), ...(applied.cursor ? { cursor: applied.cursor } : {}) } },
    })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, applied])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setApplied({ filter: userFilter(search), state: STATES.find((s) => s === state), cursor: null, stack: [] })
  }
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <form className="row" onSubmit={submit} role="search">
        <div className="field">
          <label htmlFor="user-search">Search by name, email or userName</label>
          <input id="user-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="user-state">State</label>
          <select id="user-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="all">All</option><option value="pending">Pending (invited)</option><option value="active">Active</option><option value="suspended">Suspended</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorLine message={error} />
      {data && (data.data.length === 0 ? <p>No users.</p> : (
        <table>
          <caption className="sr-only">Users</caption>
          <thead><tr><th scope="col">userName</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Managed by</th></tr></thead>
          <tbody>
            {data.data.map((u) => (
              <tr key={u.id}>
                <td><a href={`#/o/${encodeURIComponent(org)}/users/${u.id}`}>{u.userName}</a></td>
                <td>{u.displayName ?? '—'}</td>
                <td><span className={`tag state-${u.state}`}>{u.state}</span></td>
                <td><ManagedTag managedBy={u.managedBy} idp={u.identityProvider} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      <Pager next={data?.nextCursor} stack={applied.stack} onPage={(cursor, stack) => setApplied({ ...applied, cursor, stack })} />
    </section>
  )
}

const ATTRIBUTES = ['userName', 'externalId', 'displayName', 'email', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active'] as const

export function UserPage({ org, orgId, id }: { org: string; orgId: string; id: string }) {
  const { session } = useSession()
  const admin = canAdmin(session, orgId)
  const [note, setNote] = useState<string | null>(null)
  const { data, error, reload } = useLoad(async () => {
    const [u, s, g, inv] = await Promise.all([
      api.GET('/api/v1/orgs/{org}/users/{id}', { params: { path: { org, id } } }),
      api.GET('/api/v1/orgs/{org}/settings', { params: { path: { org } } }),
      api.GET('/api/v1/orgs/{org}/users/{id}/groups', { params: { path: { org, id }, query: { limit: 100 } } }),
      api.GET('/api/v1/orgs/{org}/users/{id}/invitation', { params: { path: { org, id } } }),
    ])
    if (u.error || !u.data) throw new Error(messageOf(u.error))
    return { user: u.data, owned: s.data?.scimOwnedFields ?? [], groups: g.data?.data ?? [], invitation: inv.data ?? null }
  }, [org, id])
  const resend = async () => {
    const { error } = await api.POST('/api/v1/orgs/{org}/users/{id}/invitation', { params: { path: { org, id } } })
    setNote(error ? messageOf(error) : 'A new invitation is on its way.')
    reload()
  }
  if (!data) return <ErrorLine message={error} />
  const { user } = data
  const scim = user.managedBy === 'scim'
  const ownedFor = (attr: string) => scim && (data.owned as string[]).includes(attr === 'email' ? 'emails' : attr)
  return (
    <section aria-labelledby="user-title">
      <h1 id="user-title">{user.displayName ?? user.userName}</h1>
      <p><ManagedTag managedBy={user.managedBy} idp={user.identityProvider} /> <span className={`tag state-${user.state}`}>{user.state}</span></p>
      <dl className="attributes">
        {ATTRIBUTES.map((a) => {
          const v = user[a]
          return (
            <div key={a}>
              <dt>{a}</dt>
              <dd>
                {v === null || v === undefined ? '—' : String(v)}
                {ownedFor(a) && <span className="locked"> <span className="tag scim">Locked</span> set by {user.identityProvider ?? 'the identity provider'} (a SCIM-owned field): change it there</span>}
              </dd>
            </div>
          )
        })}
        <div><dt>Created</dt><dd>{when(user.createdAt)}</dd></div>
        <div><dt>Updated</dt><dd>{when(user.updatedAt)}</dd></div>
      </dl>
      <h2>Groups</h2>
      {data.groups.length === 0 ? <p>In no group.</p> : <ul>{data.groups.map((g) => <li key={g.id}><a href={`#/o/${encodeURIComponent(org)}/groups/${g.id}`}>{g.displayName}</a></li>)}</ul>}
      <h2>Invitation</h2>
      {note && <Notice>{note}</Notice>}
      {data.invitation ? (
        <p>Status: <strong>{data.invitation.status}</strong>{data.invitation.sentAt ? `, sent ${when(data.invitation.sentAt)}` : ''}{data.invitation.expiresAt ? `, expires ${when(data.invitation.expiresAt)}` : ''}</p>
      ) : <p>No invitation.</p>}
      {admin && user.state === 'pending' && <button type="button" onClick={() => void resend()}>Resend invitation</button>}
    </section>
  )
}

export function Groups({ org }: { org: string }) {
  const [search, setSearch] = useState('')
  const [applied, setApplied] = useState<{ filter?: string; cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const { data, error } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/groups', {
      params: { path: { org }, query: { limit: 25, ...(applied.filter ? { filter: applied.filter } : {}), ...(applied.cursor ? { cursor: applied.cursor } : {}) } },
    })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, applied])
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups</h1>
      <form className="row" role="search" onSubmit={(e) => { e.preventDefault(); setApplied({ filter: search.trim() ? `displayName co ${lit(search.trim())}` : undefined, cursor: null, stack: [] }) }}>
        <div className="field">
          <label htmlFor="group-search">Search by name</label>
          <input id="group-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorLine message={error} />
      {data && (data.data.length === 0 ? <p>No groups.</p> : (
        <table>
          <caption className="sr-only">Groups</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Members</th><th scope="col">Managed by</th></tr></thead>
          <tbody>
            {data.data.map((g) => (
              <tr key={g.id}>
                <td><a href={`#/o/${encodeURIComponent(org)}/groups/${g.id}`}>{g.displayName}</a></td>
                <td>{g.memberCount}</td>
                <td><ManagedTag managedBy={g.managedBy} idp={g.identityProvider} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      <Pager next={data?.nextCursor} stack={applied.stack} onPage={(cursor, stack) => setApplied({ ...applied, cursor, stack })} />
    </section>
  )
}

export function GroupPage({ org, id }: { org: string; id: string }) {
  const [page, setPage] = useState<{ cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const group = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/groups/{id}', { params: { path: { org, id } } })
    if (error || !data) throw new Error(messageOf(error))
    return data
  }, [org, id])
  const members = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/groups/{id}/members', { params: { path: { org, id }, query: { limit: 50, ...(page.cursor ? { cursor: page.cursor } : {}) } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, id, page])
  if (!group.data) return <ErrorLine message={group.error} />
  return (
    <section aria-labelledby="group-title">
      <h1 id="group-title">{group.data.displayName}</h1>
      <p><ManagedTag managedBy={group.data.managedBy} idp={group.data.identityProvider} /> {group.data.memberCount} members</p>
      <ErrorLine message={members.error} />
      <ul>
        {members.data?.data.map((m) => <li key={m.id}>{m.type === 'user' ? <a href={`#/o/${encodeURIComponent(org)}/users/${m.id}`}>{m.display ?? m.id}</a> : `${m.display ?? m.id} (group)`}</li>)}
      </ul>
      <Pager next={members.data?.nextCursor} stack={page.stack} onPage={(cursor, stack) => setPage({ cursor, stack })} />
    </section>
  )
}
