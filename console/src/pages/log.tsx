// The provisioning log, newest first: the filters (outcome, identity provider, time, user) run on
// the server, so every page is a full page of matching entries. An entry opens to its request, response and change,
// and a failure is explained in plain words with its likely fix (explain.ts).
import { useState } from 'react'
import type { paths } from '../../../src/client/api-types.ts'
import { api, messageOf, type Schemas } from '../api.ts'
import { explain } from '../explain.ts'
import { ErrorLine, Pager, useLoad, when } from '../ui.tsx'

type Entry = Schemas['LogItem']
type Idp = NonNullable<NonNullable<paths['/api/v1/orgs/{org}/provisioning-log']['get']['parameters']['query']>['identityProvider']>

/** The names the log records (the server refuses any other). */
const IDPS: readonly Idp[] = ['entra', 'okta', 'jumpcloud', 'onelogin', 'google', 'pingone', 'rippling', 'unknown']

function Detail({ e }: { e: Entry }) {
  const x = explain(e)
  return (
    <div className="log-detail">
      {x && (
        <div className="explain" role="note">
          <p><strong>What happened:</strong> {x.what}</p>
          <p><strong>Likely fix:</strong> {x.fix}</p>
        </div>
      )}
      <h3>Request</h3>
      <pre>{`${e.method} ${e.path}\nIdentity provider: ${e.identityProvider}\nRequest id: ${e.requestId}`}{e.notes.length ? `\nReadings: ${e.notes.join('; ')}` : ''}</pre>
      <h3>Response</h3>
      <pre>{`${e.status}${e.scimType ? ` ${e.scimType}` : ''}${e.detail ? `\n${e.detail}` : ''}\n${e.durationMs.toFixed(1)} ms`}</pre>
      <h3>Change</h3>
      <pre>{e.changes ? JSON.stringify(e.changes, null, 2) : 'Nothing changed.'}</pre>
    </div>
  )
}

export function Log({ org }: { org: string }) {
  const [status, setStatus] = useState('')
  const [since, setSince] = useState('')
  const [user, setUser] = useState('')
  const [idp, setIdp] = useState('')
  const [q, setQ] = useState<{ status?: string; since?: string; user?: string; idp?: Idp; cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const [open, setOpen] = useState<string | null>(null)
  const { data, error } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/provisioning-log', {
      params: { path: { org }, query: { limit: 50, ...(q.status ? { status: q.status } : {}), ...(q.since ? { since: q.since } : {}), ...(q.user ? { user: q.user } : {}), ...(q.idp ? { identityProvider: q.idp } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) } },
    })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, q])
  const items = data?.items ?? []
  return (
    <section aria-labelledby="log-title">
      <h1 id="log-title">Provisioning log</h1>
      <form className="row" role="search" onSubmit={(e) => { e.preventDefault(); setQ({ status: status || undefined, since: since || undefined, user: user.trim() || undefined, idp: IDPS.find((x) => x === idp), cursor: null, stack: [] }) }}>
        <div className="field">
          <label htmlFor="log-status">Outcome</label>
          <select id="log-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All</option><option value="2xx">Succeeded</option><option value="4xx">Refused (4xx)</option><option value="5xx">Failed (5xx)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-since">Since</label>
          <select id="log-since" value={since} onChange={(e) => setSince(e.target.value)}>
            <option value="">Any time</option><option value="1h">Last hour</option><option value="1d">Last day</option><option value="7d">Last week</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-user">User or group id</label>
          <input id="log-user" value={user} onChange={(e) => setUser(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="log-idp">Identity provider</label>
          <select id="log-idp" value={idp} onChange={(e) => setIdp(e.target.value)}>
            <option value="">All</option>
            {IDPS.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine message={error} />
      {data && (items.length === 0 ? <p>No entries.</p> : (
        <ul className="log">
          {items.map((e) => (
            <li key={e.id} className={e.status >= 400 ? 'failed' : ''}>
              <button type="button" className="entry" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                <span className={`tag ${e.status >= 400 ? 'bad' : 'good'}`}>{e.status}</span> {e.method} {e.path} <span className="muted">· {e.identityProvider} · {when(e.time)}</span>
              </button>
              {open === e.id && <Detail e={e} />}
            </li>
          ))}
        </ul>
      ))}
      <Pager next={data?.nextCursor} stack={q.stack} onPage={(cursor, stack) => setQ({ ...q, cursor, stack })} />
    </section>
  )
}
