// The SCIM setup guide: per identity provider, the values to paste and where, and a live status
// that turns green when the identity provider's first request arrives.
import { useEffect, useState } from 'react'
import { api } from '../api.ts'
import { IDPS } from '../idps.ts'
import { CopyField, when } from '../ui.tsx'

const POLL_MS = 5000

export function Setup({ org }: { org: string }) {
  const [idp, setIdp] = useState('entra')
  const [status, setStatus] = useState<{ tenantUrl: string; firstRequestAt: string | null; firstRequestBy: string | null; liveTokens: number } | null>(null)
  useEffect(() => {
    let live = true
    const read = async () => {
      const { data } = await api.GET('/api/v1/orgs/{org}/scim-status', { params: { path: { org } } })
      if (live && data) setStatus(data)
    }
    void read()
    const timer = setInterval(() => void read(), POLL_MS)
    return () => { live = false; clearInterval(timer) }
  }, [org])
  const guide = IDPS.find((g) => g.id === idp) ?? IDPS[0]
  if (!guide) return null
  return (
    <section aria-labelledby="setup-title">
      <h1 id="setup-title">Set up SCIM provisioning</h1>
      <div className="field">
        <label htmlFor="idp">Your identity provider</label>
        <select id="idp" value={idp} onChange={(e) => setIdp(e.target.value)}>
          {IDPS.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
        </select>
      </div>
      <ol className="steps">{guide.steps.map((s) => <li key={s}>{s}</li>)}</ol>
      {status && <CopyField id="tenant-url" label={guide.urlField} value={status.tenantUrl} />}
      <div className="field">
        <span className="label">{guide.tokenField}</span>
        <p>{status && status.liveTokens > 0 ? 'The token was shown once when it was generated. Lost it? ' : 'No token yet. '}<a href={`#/o/${encodeURIComponent(org)}/token`}>{status && status.liveTokens > 0 ? 'Refresh it on the Token page' : 'Generate it on the Token page'}</a>.</p>
      </div>
      <CopyField id="unique-id" label="Unique identifier for users" value="userName" />
      <div className={`status ${status?.firstRequestAt ? 'ok' : 'waiting'}`} role="status" aria-live="polite">
        {status?.firstRequestAt
          ? <>Connected: the first request came from <strong>{status.firstRequestBy ?? 'an identity provider'}</strong> at {when(status.firstRequestAt)}.</>
          : <>Waiting for the identity provider's first request…</>}
      </div>
    </section>
  )
}
