// The organization's settings: email domains (add with inline errors, remove, verify by DNS and
// their states), invitation emails, users outside the domains, deprovisioning and the fields
// SCIM owns. Viewers see them read-only.
import { useState, type FormEvent } from 'react'
import { api, messageOf, type Schemas } from '../api.ts'
import { canAdmin, useSession } from '../session.tsx'
import { ErrorLine, Notice, useLoad, when } from '../ui.tsx'
import { NewToken } from './token.tsx'

type Settings = Schemas['OrgSettings']
type Change = Partial<Pick<Settings, 'sendInvitations' | 'outsideDomains' | 'subdomains' | 'deprovision' | 'deleteAfterDays' | 'scimOwnedFields'>> & { domainAdd?: string[]; domainRemove?: string[] }

const FIELDS = ['userName', 'externalId', 'name', 'displayName', 'nickName', 'emails', 'phoneNumbers', 'addresses', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'enterprise'] as const

export function SettingsPage({ org, orgId }: { org: string; orgId: string }) {
  const { session } = useSession()
  const admin = canAdmin(session, orgId)
  const { data, error, reload } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/settings', { params: { path: { org } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org])
  const [domain, setDomain] = useState('')
  const [domainError, setDomainError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [token, setToken] = useState<string | null>(null)

  const change = async (body: Change, what: string): Promise<boolean> => {
    setSaved(null)
    const { error } = await api.PATCH('/api/v1/orgs/{org}/settings', { params: { path: { org } }, body })
    if (error) {
      if (body.domainAdd) setDomainError(messageOf(error).replace(/^domainAdd: /, ''))
      else setProblem(messageOf(error))
      return false
    }
    setProblem(null)
    setSaved(what)
    reload()
    return true
  }
  const add = async (e: FormEvent) => {
    e.preventDefault()
    setDomainError(null)
    const first = (data?.domains.length ?? 0) === 0
    if (!(await change({ domainAdd: [domain] }, `${domain} added`))) return
    setDomain('')
    // The first domain is where setting up starts: an organization without a token gets one now.
    if (first) {
      const live = await api.GET('/api/v1/orgs/{org}/scim-token', { params: { path: { org } } })
      if (live.data && live.data.tokens.length === 0) {
        const made = await api.POST('/api/v1/orgs/{org}/scim-token', { params: { path: { org } } })
        if (made.data) setToken(made.data.token)
      }
    }
  }
  const verify = async (d: string) => {
    const { error } = await api.POST('/api/v1/orgs/{org}/domains/{domain}/verify', { params: { path: { org, domain: d } } })
    if (error) setProblem(messageOf(error))
    reload()
  }

  if (!data) return <ErrorLine message={error} />
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {saved && <Notice>Saved: {saved}.</Notice>}
      {token && <NewToken token={token} kind="generated" onDone={() => setToken(null)} />}
      <ErrorLine message={problem} />
      <h2>Email domains</h2>
      {data.domainStates.length === 0 ? <p>No domains: users of any domain are accepted.</p> : (
        <table>
          <caption className="sr-only">Email domains</caption>
          <thead><tr><th scope="col">Domain</th><th scope="col">Verification</th><th scope="col">Checked</th>{admin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
          <tbody>
            {data.domainStates.map((d) => (
              <tr key={d.domain}>
                <td>{d.domain}</td>
                <td>
                  <span className={`tag state-${d.state}`}>{d.state}</span>
                  {d.record && <div className="hint">Publish TXT <code>{d.record.name}</code> = <code>{d.record.value}</code></div>}
                  {d.detail && <div className="hint">{d.detail}</div>}
                </td>
                <td>{when(d.checkedAt)}</td>
                {admin && (
                  <td className="row">
                    {d.state !== 'verified' && <button type="button" className="secondary" onClick={() => void verify(d.domain)}>Verify {d.domain}</button>}
                    <button type="button" className="secondary" onClick={() => void change({ domainRemove: [d.domain] }, `${d.domain} removed`)}>Remove {d.domain}</button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <form onSubmit={(e) => void add(e)} className="row" noValidate>
          <div className="field">
            <label htmlFor="domain-add">Add a domain</label>
            <input id="domain-add" value={domain} onChange={(e) => setDomain(e.target.value)} placeholder="acme.com" aria-invalid={domainError ? true : undefined}
              aria-describedby={domainError ? 'domain-error' : undefined} />
            {domainError && <p id="domain-error" className="error" role="alert">{domainError}</p>}
          </div>
          <button type="submit">Add domain</button>
        </form>
      )}
      <h2>Provisioning</h2>
      <fieldset disabled={!admin}>
        <legend className="sr-only">Provisioning settings</legend>
        <div className="field checkbox">
          <input id="send-invitations" type="checkbox" checked={data.sendInvitations}
            onChange={(e) => void change({ sendInvitations: e.target.checked }, `invitation emails ${e.target.checked ? 'on' : 'off'}`)} />
          <label htmlFor="send-invitations">Send invitation emails to new users</label>
        </div>
        <div className="field">
          <label htmlFor="outside-domains">Users outside the domains</label>
          <select id="outside-domains" value={data.outsideDomains} onChange={(e) => void change({ outsideDomains: e.target.value as Settings['outsideDomains'] }, 'users outside the domains')}>
            <option value="refuse">Refuse them</option>
            <option value="allow">Allow them</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="deprovision">When the identity provider deletes a user</label>
          <select id="deprovision" value={data.deprovision} onChange={(e) => void change({ deprovision: e.target.value as Settings['deprovision'] }, 'deprovisioning')}>
            <option value="delete">Delete it at once</option>
            <option value="suspend">Suspend it, delete it later</option>
          </select>
        </div>
        {data.deprovision === 'suspend' && (
          <div className="field">
            <label htmlFor="delete-after">Delete suspended users after (days)</label>
            <input id="delete-after" type="number" min={1} defaultValue={data.deleteAfterDays}
              onBlur={(e) => void change({ deleteAfterDays: Number(e.target.value) }, 'days before deletion')} />
          </div>
        )}
        <fieldset>
          <legend>Fields the identity provider owns (locked in your application)</legend>
          <div className="grid">
            {FIELDS.map((f) => (
              <div className="field checkbox" key={f}>
                <input id={`owned-${f}`} type="checkbox" checked={data.scimOwnedFields.includes(f)}
                  onChange={(e) => void change({ scimOwnedFields: e.target.checked ? [...data.scimOwnedFields, f] : data.scimOwnedFields.filter((x) => x !== f) }, 'SCIM-owned fields')} />
                <label htmlFor={`owned-${f}`}>{f}</label>
              </div>
            ))}
          </div>
        </fieldset>
      </fieldset>
    </section>
  )
}
