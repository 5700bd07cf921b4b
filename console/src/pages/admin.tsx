// Webhooks (endpoints and their latest deliveries; a viewer reads them, only an admin acts), the audit log of console actions, the
// organization's console members (invite, remove), and the operator's organizations.
import { useState, type FormEvent } from 'react'
import { api, messageOf } from '../api.ts'
import { canAdmin, useSession } from '../session.tsx'
import { ErrorLine, Notice, Pager, useLoad, when } from '../ui.tsx'

export function Webhooks({ org, orgId }: { org: string; orgId: string }) {
  const { session } = useSession()
  const admin = canAdmin(session, orgId)
  const [open, setOpen] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const { data, error } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/webhooks', { params: { path: { org } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org])
  const attempts = useLoad(async () => {
    if (!open) return null
    const { data, error } = await api.GET('/api/v1/orgs/{org}/webhooks/{id}/attempts', { params: { path: { org, id: open }, query: { limit: 20 } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, open, note])
  const act = async (what: Promise<{ error?: unknown }>, done: string) => {
    const { error } = await what
    if (error) setProblem(messageOf(error))
    else { setProblem(null); setNote(done) }
  }
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      {!admin && <p id="webhooks-read-only">You can read the endpoints and their deliveries; only an admin of the organization can send a test, replay or redeliver.</p>}
      {note && <Notice>{note}</Notice>}
      <ErrorLine message={error ?? problem} />
      {data && (data.data.length === 0 ? <p>No webhook endpoints. Your application adds them through the API (docs/events.md).</p> : (
        <ul className="log">
          {data.data.map((w) => (
            <li key={w.id}>
              <button type="button" className="entry" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                {w.url} <span className={`tag ${w.enabled ? 'good' : 'bad'}`}>{w.enabled ? 'enabled' : 'disabled'}</span>{w.failingSince && <span className="tag bad">failing since {when(w.failingSince)}</span>}
                {w.disabledReason && <span className="muted"> · {w.disabledReason}</span>}
              </button>
              {open === w.id && (
                <div>
                  {admin && (
                    <div className="row">
                      <button type="button" className="secondary" onClick={() => void act(api.POST('/api/v1/orgs/{org}/webhooks/{id}/test', { params: { path: { org, id: w.id } } }), 'A test event was sent.')}>Send a test event</button>
                      <button type="button" className="secondary" onClick={() => void act(api.POST('/api/v1/orgs/{org}/webhooks/{id}/replay', { params: { path: { org, id: w.id } }, body: {} }), 'Every kept event is queued again.')}>Replay every kept event</button>
                    </div>
                  )}
                  {attempts.data && (
                    <table>
                      <caption>Latest deliveries</caption>
                      <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Status</th>{admin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
                      <tbody>{attempts.data.data.map((a) => (
                        <tr key={a.id}><td>{when(a.at)}</td><td>{a.eventType}</td><td>{a.outcome}</td><td>{a.status ?? a.error ?? '—'}</td>
                          {admin && <td><button type="button" className="secondary" onClick={() => void act(api.POST('/api/v1/orgs/{org}/webhooks/{id}/redeliver', { params: { path: { org, id: w.id } }, body: { eventId: a.eventId } }), 'The event is queued again.')}>Redeliver</button></td>}</tr>
                      ))}</tbody>
                    </table>
                  )}
                </div>
              )}
            </li>
          ))}
        </ul>
      ))}
    </section>
  )
}

export function Audit({ org }: { org: string }) {
  const [page, setPage] = useState<{ cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const { data, error } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/audit', { params: { path: { org }, query: { limit: 50, ...(page.cursor ? { cursor: page.cursor } : {}) } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org, page])
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <ErrorLine message={error} />
      {data && (data.data.length === 0 ? <p>Nothing yet.</p> : (
        <table>
          <caption className="sr-only">Audit entries</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Details</th></tr></thead>
          <tbody>{data.data.map((a) => <tr key={a.id}><td>{when(a.at)}</td><td>{a.actor}</td><td>{a.action}</td><td><code>{JSON.stringify(a.details)}</code></td></tr>)}</tbody>
        </table>
      ))}
      <Pager next={data?.nextCursor} stack={page.stack} onPage={(cursor, stack) => setPage({ cursor, stack })} />
    </section>
  )
}

export function Members({ org, orgId }: { org: string; orgId: string }) {
  const { session } = useSession()
  const admin = canAdmin(session, orgId)
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<'admin' | 'viewer'>('viewer')
  const [note, setNote] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const { data, error, reload } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/members', { params: { path: { org } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org])
  const invite = async (e: FormEvent) => {
    e.preventDefault()
    const { data, error } = await api.POST('/api/v1/orgs/{org}/members', { params: { path: { org } }, body: { email, role } })
    if (error || !data) return setProblem(messageOf(error))
    setProblem(null)
    setNote(data.member.status === 'invited' ? (data.emailSent ? `Invitation sent to ${email}.` : `${email} was added, but the email could not be sent.`) : `${email} is now ${role}.`)
    setEmail('')
    reload()
  }
  const remove = async (id: string, who: string) => {
    const { error } = await api.DELETE('/api/v1/orgs/{org}/members/{id}', { params: { path: { org, id } } })
    if (error) setProblem(messageOf(error))
    else setNote(`${who} was removed; their sessions ended.`)
    reload()
  }
  return (
    <section aria-labelledby="members-title">
      <h1 id="members-title">Console members</h1>
      {note && <Notice>{note}</Notice>}
      <ErrorLine message={error ?? problem} />
      {data && (
        <table>
          <caption className="sr-only">Members</caption>
          <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th>{admin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
          <tbody>{data.data.map((m) => (
            <tr key={m.id}><td>{m.email}</td><td>{m.role}</td><td>{m.status}</td>
              {admin && <td>{m.id !== session.account.id && <button type="button" className="secondary" onClick={() => void remove(m.id, m.email)}>Remove {m.email}</button>}</td>}</tr>
          ))}</tbody>
        </table>
      )}
      {admin && (
        <form className="row" onSubmit={(e) => void invite(e)}>
          <div className="field"><label htmlFor="invite-email">Email</label><input id="invite-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} /></div>
          <div className="field"><label htmlFor="invite-role">Role</label>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as 'admin' | 'viewer')}><option value="viewer">Viewer (read only)</option><option value="admin">Admin</option></select>
          </div>
          <button type="submit">Invite</button>
        </form>
      )}
    </section>
  )
}

export function Operator() {
  const [page, setPage] = useState<{ cursor: string | null; stack: string[] }>({ cursor: null, stack: [] })
  const [name, setName] = useState('')
  const [domains, setDomains] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const { data, error, reload } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs', { params: { query: { limit: 50, ...(page.cursor ? { cursor: page.cursor } : {}) } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [page])
  const create = async (e: FormEvent) => {
    e.preventDefault()
    const { error } = await api.POST('/api/v1/orgs', { body: { name, domains: domains.split(/[\s,]+/).filter(Boolean) } })
    if (error) return setProblem(messageOf(error))
    setProblem(null)
    setName('')
    setDomains('')
    reload()
  }
  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Organizations</h1>
      <ErrorLine message={error} />
      {data && (
        <table>
          <caption className="sr-only">Organizations and their health</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Domains</th><th scope="col">Last request</th><th scope="col">Errors (24 h)</th><th scope="col">Tokens</th></tr></thead>
          <tbody>{data.data.map((o) => (
            <tr key={o.id}>
              <td><a href={`#/o/${encodeURIComponent(o.id)}/setup`}>{o.name}</a></td>
              <td>{o.domains.join(', ') || '—'}</td>
              <td>{o.lastRequestAt ? `${when(o.lastRequestAt)} (${o.lastRequestBy ?? '?'})` : 'never'}</td>
              <td><span className={`tag ${o.errorsLastDay > 0 ? 'bad' : 'good'}`}>{o.errorsLastDay}</span></td>
              <td>{o.liveTokens}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      <Pager next={data?.nextCursor} stack={page.stack} onPage={(cursor, stack) => setPage({ cursor, stack })} />
      <h2>Create an organization</h2>
      <form className="row" onSubmit={(e) => void create(e)}>
        <div className="field"><label htmlFor="org-name">Name</label><input id="org-name" required value={name} onChange={(e) => setName(e.target.value)} /></div>
        <div className="field"><label htmlFor="org-domains">Email domains (comma-separated)</label><input id="org-domains" value={domains} onChange={(e) => setDomains(e.target.value)} /></div>
        <button type="submit">Create</button>
      </form>
      <ErrorLine message={problem} />
    </section>
  )
}
