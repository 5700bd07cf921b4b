// Signing in, asking for a password reset, and choosing a password through a one-time link
// (setup, invitation, reset). None needs a session.
import { useState, type FormEvent } from 'react'
import { api, messageOf, setCsrf } from '../api.ts'
import { ErrorLine, Notice, go } from '../ui.tsx'

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    const { data, error } = await api.POST('/api/v1/console/sign-in', { body: { email, password } })
    setBusy(false)
    if (error || !data) {
      setError(messageOf(error))
      return
    }
    setCsrf(data.csrfToken)
    onSignedIn()
  }
  return (
    <main className="narrow">
      <h1>Sign in to the Roster console</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="sign-in-error">
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <div id="sign-in-error"><ErrorLine message={error} /></div>
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      <p><a href="#/forgot">Forgot your password?</a></p>
    </main>
  )
}

export function Forgot() {
  const [email, setEmail] = useState('')
  const [sent, setSent] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const { error } = await api.POST('/api/v1/console/password-reset', { body: { email } })
    if (error) setError(messageOf(error))
    else setSent(true)
  }
  return (
    <main className="narrow">
      <h1>Reset your password</h1>
      {sent ? <Notice>If an account has this email, a link to choose a new password is on its way. It works once, for one hour.</Notice> : (
        <form onSubmit={(e) => void submit(e)}>
          <div className="field">
            <label htmlFor="reset-email">Email</label>
            <input id="reset-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <ErrorLine message={error} />
          <button type="submit">Send the link</button>
        </form>
      )}
      <p><a href="#/sign-in">Back to sign-in</a></p>
    </main>
  )
}

export function Link({ token, setup }: { token: string; setup: boolean }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const { error } = await api.POST('/api/v1/console/links/redeem', { body: { token, password, ...(setup ? { email } : {}) } })
    if (error) setError(messageOf(error))
    else setDone(true)
  }
  return (
    <main className="narrow">
      <h1>{setup ? 'Create the operator account' : 'Choose your password'}</h1>
      {done ? <><Notice>Your password is set.</Notice><button type="button" onClick={() => go('/sign-in')}>Sign in</button></> : (
        <form onSubmit={(e) => void submit(e)}>
          {setup && (
            <div className="field">
              <label htmlFor="setup-email">Your email</label>
              <input id="setup-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
          )}
          <div className="field">
            <label htmlFor="new-password">New password</label>
            <input id="new-password" type="password" autoComplete="new-password" required minLength={12} maxLength={128} aria-describedby="password-hint"
              value={password} onChange={(e) => setPassword(e.target.value)} />
            <p id="password-hint" className="hint">At least 12 characters. A passphrase of a few words is easy to type and hard to guess.</p>
          </div>
          <ErrorLine message={error} />
          <button type="submit">Set the password</button>
        </form>
      )}
    </main>
  )
}
