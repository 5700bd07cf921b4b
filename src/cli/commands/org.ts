// `roster org set|show ORG`, `roster org domain verify ORG DOMAIN` and `roster org audit ORG`: an
// organization's settings and email domains (provisioning/org-settings.ts), changed as `cli`.
// These subcommands read their own flags (main.ts hands them the arguments untouched). `--json`
// prints exactly what the API answers: the settings view for set and show (so that
// `roster org show ORG --json | jq .sendInvitations` works), the domain's state for verify, a
// page for audit. A flag with a bad value is a usage error (exit 2); a domain that is refused is
// a failure (exit 1) with the reason.
import { parseArgs } from 'node:util'
import type { TxtResolver } from '../../orgs/domains.ts'
import { DEFAULT_LIMIT, MAX_LIMIT, decodeCursor, encodeCursor } from '../../http/api/paging.ts'
import type { Deps } from '../../provisioning/deps.ts'
import {
  checkSettingsUpdate, readAudit, showOrgSettings, updateOrgSettings, verifyDomain,
  type AuditEntryView, type DomainStateView, type OrgSettingsView, type SettingsUpdate,
} from '../../provisioning/org-settings.ts'
import { OrgError, findOrg } from '../../provisioning/orgs.ts'
import type { OrgId } from '../../store/store.ts'

export class OrgUsage extends Error {}

/** The `roster org` subcommands this file runs. */
export function isOrgSettingsCommand(sub: string | undefined): boolean {
  return sub === 'set' || sub === 'show' || sub === 'domain' || sub === 'audit'
}

export const ORG_USAGE = `usage: roster org show ORG [--json]
       roster org set ORG [--domain-add D]... [--domain-remove D]... [--send-invitations on|off]
                          [--outside-domains refuse|allow] [--subdomains on|off] [--deprovision suspend|delete]
                          [--delete-after-days N] [--adopt-existing on|off] [--scim-owned F,F]
                          [--strict-attributes on|off] [--attribute-map PATH=FIELD,...] [--force] [--json]
       roster org domain verify ORG DOMAIN [--json]
       roster org audit ORG [--limit N] [--cursor C] [--json]`

/** The usage of one of these subcommands (`roster org set --help`): its entry of ORG_USAGE, with its continuation lines. */
export function orgSubUsage(sub: string | undefined): string {
  const entries: string[][] = []
  for (const line of ORG_USAGE.split('\n')) {
    const m = /^(?:usage: | {7})(roster org .*)$/.exec(line)
    if (m?.[1] !== undefined) entries.push([m[1]])
    else entries.at(-1)?.push(line)
  }
  const mine = entries.filter((e) => e[0]?.startsWith(`roster org ${sub ?? ''} `))
  if (mine.length === 0) return ORG_USAGE
  return `usage: ${mine.map((e) => e.join('\n')).join('\n       ')}`
}

export interface OrgCommandContext {
  /** ROSTER_SHARED_DOMAINS=1. */
  readonly sharedDomains: boolean
  readonly txtResolver: TxtResolver
  withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T>
  print(json: boolean, value: unknown, text: string): void
  /** The tenant URL the running server serves (ops/public-url.ts), and why an identity provider would refuse it (null: none). */
  tenantUrl(deps: Deps): Promise<{ url: string; warning: string | null }>
}

const ACTOR = 'cli'

/** The flag each setting is given by. */
const FLAG_OF: Readonly<Record<string, string>> = {
  domainAdd: '--domain-add', domainRemove: '--domain-remove', sendInvitations: '--send-invitations', outsideDomains: '--outside-domains',
  subdomains: '--subdomains', deprovision: '--deprovision', deleteAfterDays: '--delete-after-days', adoptExisting: '--adopt-existing',
  scimOwnedFields: '--scim-owned', strictAttributes: '--strict-attributes', attributeMapping: '--attribute-map',
}

const OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  'domain-add': { type: 'string', multiple: true },
  'domain-remove': { type: 'string', multiple: true },
  'send-invitations': { type: 'string' },
  'outside-domains': { type: 'string' },
  subdomains: { type: 'string' },
  deprovision: { type: 'string' },
  'delete-after-days': { type: 'string' },
  'adopt-existing': { type: 'string' },
  'scim-owned': { type: 'string' },
  'strict-attributes': { type: 'string' },
  'attribute-map': { type: 'string' },
  force: { type: 'boolean', default: false },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS })
  } catch (e) {
    // node:util's refusals (an unknown flag, a flag without its value) are usage errors.
    if (e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw new OrgUsage(e.message)
    throw e
  }
}

type Values = ReturnType<typeof parse>['values']

function onOff(flag: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined
  const v = raw.trim().toLowerCase()
  if (v === 'on' || v === 'true' || v === 'yes') return true
  if (v === 'off' || v === 'false' || v === 'no') return false
  throw new OrgUsage(`${flag} takes on or off, got "${raw}"`)
}

/** Repeated flags, each possibly a comma-separated list. */
function list(raw: readonly string[] | undefined): string[] | undefined {
  return raw?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

/** The flags of `org set` as a change (settings by their names, as the API takes them). */
export function changeFromFlags(v: Values): SettingsUpdate {
  const settings: Record<string, unknown> = {}
  const bools = [['sendInvitations', 'send-invitations'], ['subdomains', 'subdomains'], ['adoptExisting', 'adopt-existing'], ['strictAttributes', 'strict-attributes']] as const
  for (const [name, flag] of bools) {
    const b = onOff(`--${flag}`, v[flag])
    if (b !== undefined) settings[name] = b
  }
  if (v['outside-domains'] !== undefined) settings.outsideDomains = v['outside-domains'].trim().toLowerCase()
  if (v.deprovision !== undefined) settings.deprovision = v.deprovision.trim().toLowerCase()
  const days = v['delete-after-days']
  if (days !== undefined) {
    if (!/^\s*\d{1,7}\s*$/.test(days)) throw new OrgUsage(`--delete-after-days takes a whole number of days, got "${days}"`)
    settings.deleteAfterDays = Number(days)
  }
  if (v['scim-owned'] !== undefined) settings.scimOwnedFields = list([v['scim-owned']]) ?? []
  // The whole mapping, `title=jobTitle,name.givenName=firstName`; an empty value clears it.
  if (v['attribute-map'] !== undefined) {
    settings.attributeMapping = Object.fromEntries((list([v['attribute-map']]) ?? []).map((pair) => {
      const eq = pair.lastIndexOf('=')
      if (eq <= 0) throw new OrgUsage(`--attribute-map takes PATH=FIELD pairs, got "${pair}"`)
      return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()]
    }))
  }
  const change: SettingsUpdate = { domainAdd: list(v['domain-add']), domainRemove: list(v['domain-remove']), force: v.force, settings }
  try {
    checkSettingsUpdate(change)
  } catch (e) {
    // A setting's value is a usage error; a domain is refused with its reason (exit 1).
    if (e instanceof OrgError && e.code === 'ROSTER_ERR_ORG_SETTING') throw new OrgUsage(`${FLAG_OF[e.field ?? ''] ?? e.field ?? 'a setting'}: ${e.message}`)
    throw e
  }
  return change
}

const onOffText = (b: boolean) => (b ? 'on' : 'off')

function domainLine(d: DomainStateView): string {
  switch (d.state) {
    case 'verified':
      return `${d.domain}  verified${d.verifiedAt ? ` ${d.verifiedAt}` : ''}`
    case 'pending':
    case 'failed':
      return `${d.domain}  ${d.state}${d.record ? `: publish TXT ${d.record.name} "${d.record.value}"` : ''}${d.state === 'failed' && d.detail ? ` (${d.detail})` : ''}`
    case 'superseded':
      return `${d.domain}  superseded: ${d.detail ?? 'another organization verified it'}`
    default:
      return `${d.domain}  ${d.state}`
  }
}

/** The settings for a person. */
export function formatSettings(v: OrgSettingsView): string {
  const [first, ...rest] = v.domainStates.map(domainLine)
  const rows: [string, string][] = [
    ['Organization', `${v.name} (${v.orgId})`],
    ['Domains', first ?? 'none (every email domain is accepted)'],
    ...rest.map((l): [string, string] => ['', l]),
    ['Send invitations', onOffText(v.sendInvitations)],
    ['Outside domains', v.outsideDomains],
    ['Subdomains', onOffText(v.subdomains)],
    ['Deprovision', v.deprovision === 'suspend' ? `suspend, delete after ${v.deleteAfterDays} days` : 'delete'],
    ['Adopt existing', onOffText(v.adoptExisting)],
    ['Strict attributes', onOffText(v.strictAttributes)],
    ['Attribute map', Object.entries(v.attributeMapping).map(([p, f]) => `${p}=${f}`).join(', ') || 'none'],
    ['SCIM-owned fields', v.scimOwnedFields.join(', ') || 'none'],
  ]
  return rows.map(([k, val]) => `${k.padEnd(18)} ${val}`).join('\n')
}

function formatVerification(d: DomainStateView, org: string): string {
  switch (d.state) {
    case 'verified':
      return `${d.domain} is verified${d.verifiedAt ? ` (since ${d.verifiedAt})` : ''}.`
    case 'failed':
      return `${d.domain}: verification failed. ${d.detail ?? ''}`.trim()
    default:
      return [
        `${d.domain}: pending. Publish this DNS TXT record, then run "roster org domain verify ${org} ${d.domain}" again:`,
        `  name:  ${d.record?.name ?? ''}`,
        `  value: ${d.record?.value ?? ''}`,
      ].join('\n')
  }
}

/**
 * The organization whose audit log `roster org audit` reads: one that exists, or the id of a
 * deleted one, whose log keeps the entry of its deletion (provisioning/org-delete.ts).
 */
async function auditedOrg(deps: Deps, idOrName: string): Promise<OrgId> {
  try {
    return (await findOrg(deps, idOrName)).id
  } catch (e) {
    if (!(e instanceof OrgError) || e.code !== 'ROSTER_ERR_ORG_NOT_FOUND') throw e
    const [last] = await deps.store.listAudit(idOrName as OrgId, 1, null)
    if (last?.action === 'organization.deleted') return idOrName as OrgId
    throw e
  }
}

function summary(e: AuditEntryView): string {
  const d = e.details
  if (e.action === 'organization.deleted') {
    const n = (d.deleted ?? {}) as Record<string, unknown>
    return `"${String(d.name)}" deleted with ${String(n.users ?? 0)} users and ${String(n.groups ?? 0)} groups`
  }
  if (e.action === 'organization.renamed') return `"${String(d.from)}" -> "${String(d.to)}"`
  if (typeof d.domain === 'string') {
    const before = (d.before as { state?: unknown } | undefined)?.state
    const after = (d.after as { state?: unknown } | undefined)?.state
    return `${d.domain}: ${String(before ?? 'not listed')} -> ${String(after)}`
  }
  const before = (d.before ?? {}) as Record<string, unknown>
  const after = (d.after ?? {}) as Record<string, unknown>
  const parts: string[] = []
  const added = Array.isArray(d.domainsAdded) ? d.domainsAdded.map((x) => `+${String(x)}`) : []
  const removed = Array.isArray(d.domainsRemoved) ? d.domainsRemoved.map((x) => `-${String(x)}`) : []
  if (added.length + removed.length > 0) parts.push(`domains ${[...added, ...removed].join(' ')}`)
  for (const k of Object.keys(after)) if (k !== 'domains') parts.push(`${k} ${JSON.stringify(before[k])} -> ${JSON.stringify(after[k])}`)
  return parts.join('; ')
}

function parseLimitFlag(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new OrgUsage(`--limit takes a number from 1 to ${MAX_LIMIT}, got "${raw}"`)
  return n
}

function parseCursorFlag(raw: string | undefined): string | null {
  try {
    return decodeCursor(raw)
  } catch {
    throw new OrgUsage(`--cursor takes a nextCursor that roster org audit printed, got "${raw ?? ''}"`)
  }
}

/** Runs `roster org set|show|domain|audit …` (argv starts at the subcommand); returns the exit code. */
export async function orgSettingsCommand(argv: readonly string[], ctx: OrgCommandContext): Promise<number> {
  const { values, positionals } = parse(argv)
  const [sub, first, second, third] = positionals
  if (values.help) {
    ctx.print(false, null, orgSubUsage(sub))
    return 0
  }
  const json = values.json
  const given = values as Record<string, unknown>
  const setOnly = [...Object.values(FLAG_OF), '--force'].find((f) => given[f.slice(2)] !== undefined && given[f.slice(2)] !== false)
  if (sub !== 'set' && setOnly !== undefined) throw new OrgUsage(`${setOnly} belongs to roster org set`)
  switch (sub) {
    case 'show': {
      if (!first || second !== undefined) throw new OrgUsage(ORG_USAGE)
      const [view, tenant] = await ctx.withDeps(async (deps) => [await showOrgSettings(deps, first), await ctx.tenantUrl(deps)] as const)
      if (tenant.warning !== null && !json) process.stderr.write(`warning: ${tenant.warning}\n`)
      // --json stays what GET …/settings answers; the tenant URL is for a person.
      ctx.print(json, view, `${'Tenant URL'.padEnd(18)} ${tenant.url}\n${formatSettings(view)}`)
      return 0
    }
    case 'set': {
      if (!first || second !== undefined) throw new OrgUsage(ORG_USAGE)
      const change = changeFromFlags(values)
      const r = await ctx.withDeps((deps) => updateOrgSettings(deps, first, change, ACTOR, { sharedDomains: ctx.sharedDomains }))
      const head = r.changes.length === 0 ? 'Nothing changed.' : `Changed: ${r.changes.join(', ')}.`
      ctx.print(json, r.view, `${head}\n\n${formatSettings(r.view)}`)
      return 0
    }
    case 'domain': {
      if (first !== 'verify' || !second || !third || positionals.length > 4) throw new OrgUsage(ORG_USAGE)
      const d = await ctx.withDeps((deps) => verifyDomain(deps, second, third, ctx.txtResolver, ACTOR))
      ctx.print(json, d, formatVerification(d, second))
      return d.state === 'failed' ? 1 : 0
    }
    case 'audit': {
      if (!first || second !== undefined) throw new OrgUsage(ORG_USAGE)
      const limit = parseLimitFlag(values.limit)
      const before = parseCursorFlag(values.cursor)
      const page = await ctx.withDeps(async (deps) => readAudit(deps, await auditedOrg(deps, first), limit, before))
      const out = { data: page.data, nextCursor: page.last === null ? null : encodeCursor(page.last) }
      const lines = out.data.map((e) => `${e.at}  ${e.actor.padEnd(12)} ${e.action.padEnd(36)} ${summary(e)}`)
      if (out.nextCursor) lines.push(`(older entries: --cursor ${out.nextCursor})`)
      ctx.print(json, out, lines.join('\n') || 'No audit entries.')
      return 0
    }
    default:
      throw new OrgUsage(ORG_USAGE)
  }
}
