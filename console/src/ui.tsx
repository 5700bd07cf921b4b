// Small shared pieces: the hash router, copy buttons, a confirmation dialog, a paged list's
// controls, and an error line. Everything is a native element (button, dialog, label) so that
// keyboard use and screen readers work without extra code.
import { useCallback, useEffect, useRef, useState, type ReactNode, type RefObject } from 'react'

/** The route is the URL's fragment: `#/o/Acme/users?cursor=…`. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const raw = window.location.hash.replace(/^#/, '') || '/'
    const [path = '/', q = ''] = raw.split('?')
    return { path, query: new URLSearchParams(q) }
  }
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const on = () => setRoute(read())
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}

export function go(path: string): void {
  window.location.hash = path
}

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [done, setDone] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value)
      setDone(true)
      setTimeout(() => setDone(false), 2000)
    } catch {
      setDone(false)
    }
  }
  return (
    <button type="button" className="secondary" onClick={() => void copy()}>
      {done ? 'Copied' : 'Copy'}<span className="sr-only"> {label}</span>
    </button>
  )
}

export function CopyField({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton value={value} label={label} />
      </div>
    </div>
  )
}

export function ErrorLine({ message }: { message: string | null }) {
  if (!message) return null
  return <p className="error" role="alert">{message}</p>
}

export function Notice({ children }: { children: ReactNode }) {
  return <p className="notice" role="status">{children}</p>
}

/** A native `<dialog>` shown as a modal while `open` (focus is trapped and Escape cancels): the ref to give it. */
export function useModalDialog(open: boolean): RefObject<HTMLDialogElement | null> {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return ref
}

/** A modal confirmation (the native dialog: focus is trapped and Escape cancels). */
export function Confirm({ open, title, children, confirmLabel, onConfirm, onCancel }: {
  open: boolean; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void
}) {
  const ref = useModalDialog(open)
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); onCancel() }}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div className="row">
        <button type="button" className="danger" onClick={onConfirm}>{confirmLabel}</button>
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </dialog>
  )
}

/** Loads data, and again when `deps` change; `reload` to refresh. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [n, setN] = useState(0)
  useEffect(() => {
    let live = true
    load().then((d) => { if (live) { setData(d); setError(null) } }, (e: unknown) => { if (live) setError(e instanceof Error ? e.message : String(e)) })
    return () => { live = false }
  }, [...deps, n])
  const reload = useCallback(() => setN((x) => x + 1), [])
  return { data, error, reload }
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—'
  return new Date(iso).toLocaleString()
}

/** Cursor paging: the cursors of the pages before this one are kept for "Previous". */
export function Pager({ next, onPage, stack }: { next: string | null | undefined; onPage: (cursor: string | null, stack: string[]) => void; stack: string[] }) {
  return (
    <nav className="row pager" aria-label="Pages">
      <button type="button" className="secondary" disabled={stack.length === 0} onClick={() => onPage(stack.at(-2) ?? null, stack.slice(0, -1))}>Previous</button>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && onPage(next, [...stack, next])}>Next</button>
    </nav>
  )
}
