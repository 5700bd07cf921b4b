// The SCIM token: shown once when generated, then only its last four characters, when it was
// created and last used. Refresh asks first (the old token stops working at once); rotation
// issues a second token valid beside the first until the identity provider uses it.
import { useState } from 'react'
import { api, messageOf } from '../api.ts'
import { canAdmin, useSession } from '../session.tsx'
import { Confirm, CopyButton, ErrorLine, Notice, useLoad, when } from '../ui.tsx'

export function Token({ org, orgId }: { org: string; orgId: string }) {
  const { session } = useSession()
  const admin = canAdmin(session, orgId)
  const { data, error, reload } = useLoad(async () => {
    const { data, error } = await api.GET('/api/v1/orgs/{org}/scim-token', { params: { path: { org } } })
    if (error) throw new Error(messageOf(error))
    return data
  }, [org])
  const [fresh, setFresh] = useState<{ token: string; kind: 'generated' | 'refreshed' | 'rotated' } | null>(null)
  const [confirm, setConfirm] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const hasToken = (data?.tokens.length ?? 0) > 0

  const refresh = async () => {
    setConfirm(false)
    const { data: t, error } = await api.POST('/api/v1/orgs/{org}/scim-token', { params: { path: { org } } })
    if (error || !t) return setProblem(messageOf(error))
    setFresh({ token: t.token, kind: hasToken ? 'refreshed' : 'generated' })
    reload()
  }
  const rotate = async () => {
    const { data: t, error } = await api.POST('/api/v1/orgs/{org}/scim-token/rotate', { params: { path: { org } } })
    if (error || !t) return setProblem(messageOf(error))
    setFresh({ token: t.token, kind: 'rotated' })
    reload()
  }
  const revoke = async (id: string) => {
    const { error } = await api.DELETE('/api/v1/orgs/{org}/scim-token/{id}', { params: { path: { org, id } } })
    if (error) setProblem(messageOf(error))
    reload()
  }

  return (
    <section aria-labelledby="token-title">
      <h1 id="token-title">SCIM token</h1>
      <ErrorLine message={error ?? problem} />
      {fresh && <NewToken token={fresh.token} kind={fresh.kind} onDone={() => setFresh(null)} />}
      {data && (data.tokens.length === 0 ? <p>No token yet.</p> : (
        <table>
          <caption>Live tokens</caption>
          <thead><tr><th scope="col">Token</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">By</th>{admin && data.tokens.length > 1 && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
          <tbody>
            {data.tokens.map((t) => (
              <tr key={t.id}>
                <td><code>…{t.lastFour ?? t.prefix}</code></td>
                <td>{when(t.createdAt)}</td>
                <td>{when(t.lastUsedAt)}</td>
                <td>{t.lastUsedBy ?? '—'}</td>
                {admin && data.tokens.length > 1 && <td><button type="button" className="secondary" onClick={() => void revoke(t.id)}>Revoke …{t.lastFour}</button></td>}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {admin ? (
        <div className="row">
          <button type="button" onClick={() => (hasToken ? setConfirm(true) : void refresh())}>{hasToken ? 'Refresh token' : 'Generate token'}</button>
          {hasToken && <button type="button" className="secondary" onClick={() => void rotate()}>Rotate without downtime</button>}
        </div>
      ) : <p className="hint">Only an admin of the organization can generate, refresh or revoke the token.</p>}
      <Confirm open={confirm} title="Refresh the token?" confirmLabel="Refresh now" onConfirm={() => void refresh()} onCancel={() => setConfirm(false)}>
        <p>The current token <strong>stops working immediately</strong>: provisioning fails until you paste the new token into the identity provider.</p>
        <p>To switch without a failed request, use "Rotate without downtime" instead.</p>
      </Confirm>
    </section>
  )
}

/** A token just issued: shown this once, with its copy button and the warning. */
export function NewToken({ token, kind, onDone }: { token: string; kind: 'generated' | 'refreshed' | 'rotated'; onDone: () => void }) {
  return (
    <div className="fresh" role="region" aria-label="New token">
      {kind === 'generated' && <Notice>The SCIM token was generated: paste it into your identity provider.</Notice>}
      {kind === 'refreshed' && <Notice>The token was refreshed: the old token stopped working.</Notice>}
      {kind === 'rotated' && <Notice>A second token was issued. The old one keeps working until the identity provider uses the new one, or you revoke it.</Notice>}
      <p className="warning"><strong>Copy the token now: it will not be shown again.</strong></p>
      <div className="row">
        <code id="new-token" className="secret">{token}</code>
        <CopyButton value={token} label="the token" />
      </div>
      <button type="button" className="secondary" onClick={onDone}>I have copied it</button>
    </div>
  )
}
