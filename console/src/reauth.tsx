// Re-authentication before minting a SCIM token (docs/console.md, "Re-authentication"): when the
// server answers 403 reauthentication_required, api.ts asks this dialog for the password, which
// it confirms with POST /console/session/confirm; the refused request is then sent again. A wrong
// password counts toward the sign-in lock-out, and the dialog says what the server said.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { api, messageOf, setPasswordPrompt } from './api.ts'
import { ErrorLine, useModalDialog } from './ui.tsx'

export function PasswordPrompt({ email }: { email: string }) {
  const settle = useRef<((confirmed: boolean) => void) | null>(null)
  const [open, setOpen] = useState(false)
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const ref = useModalDialog(open)

  useEffect(() => {
    setPasswordPrompt(() => new Promise<boolean>((resolve) => {
      settle.current = resolve
      setPassword('')
      setError(null)
      setOpen(true)
    }))
    return () => setPasswordPrompt(null)
  }, [])

  const finish = (confirmed: boolean) => {
    setOpen(false)
    setPassword('')
    settle.current?.(confirmed)
    settle.current = null
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    const { error } = await api.POST('/api/v1/console/session/confirm', { body: { password } })
    setBusy(false)
    if (error) {
      setError(messageOf(error))
      return
    }
    finish(true)
  }

  return (
    <dialog ref={ref} aria-labelledby="reauth-title" onCancel={(e) => { e.preventDefault(); finish(false) }}>
      <h2 id="reauth-title">Confirm your password</h2>
      <form onSubmit={(e) => void submit(e)} aria-describedby="reauth-error">
        <p>The SCIM token gives full control of your directory: confirm the password of {email} to continue.</p>
        <input type="text" autoComplete="username" value={email} readOnly hidden />
        <div className="field">
          <label htmlFor="reauth-password">Your password</label>
          <input id="reauth-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <div id="reauth-error"><ErrorLine message={error} /></div>
        <div className="row">
          <button type="submit" disabled={busy}>Confirm</button>
          <button type="button" className="secondary" onClick={() => finish(false)}>Cancel</button>
        </div>
      </form>
    </dialog>
  )
}
