// `roster log ORG`: one line per provisioning-log entry, newest first, or the API's JSON page.
import type { LogItem, LogPage } from '../../provisioning/log-query.ts'

function changedNames(c: Record<string, unknown> | null): string[] {
  if (!c) return []
  const names = new Set<string>()
  for (const part of ['before', 'after'] as const) {
    const v = c[part]
    if (v && typeof v === 'object') for (const k of Object.keys(v)) names.add(k)
  }
  for (const r of Array.isArray(c.redacted) ? (c.redacted as unknown[]) : []) names.add(String(r))
  return [...names]
}

function membersText(c: Record<string, unknown> | null): string | null {
  const m = c?.members as { added?: number; removed?: number; replaced?: boolean } | undefined
  if (!m) return null
  return `members +${m.added ?? 0} -${m.removed ?? 0}${m.replaced ? ' (replaced)' : ''}`
}

/** One line: time, identity provider, method, path, status, duration, resource, then what changed or went wrong. */
export function formatLogLine(e: LogItem): string {
  const parts = [e.time, e.identityProvider.padEnd(9), e.method.padEnd(6), String(e.status), `${e.durationMs.toFixed(1)}ms`.padStart(8), e.path]
  if (e.status >= 400) {
    parts.push(`${e.scimType ? `${e.scimType}: ` : ''}${e.detail ?? ''}`.trim())
  } else {
    const changed = changedNames(e.changes)
    const members = membersText(e.changes)
    if (changed.length) parts.push(`changed ${changed.join(', ')}`)
    if (members) parts.push(members)
  }
  if (e.notes.length) parts.push(`notes: ${e.notes.join('; ')}`)
  return parts.filter((p) => p !== '').join('  ')
}

export function formatLogPage(page: LogPage): string {
  const lines = page.items.map(formatLogLine)
  if (lines.length === 0) lines.push('No log entries.')
  if (page.nextCursor) lines.push(`(more: --cursor ${page.nextCursor})`)
  return lines.join('\n')
}
