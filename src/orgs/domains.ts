// An organization's email-domain policy: the domains an admin may claim, whether a user's
// userName and emails fall inside them, and the DNS TXT record that proves the organization
// controls a domain.
//
// Sources (quoted beside each rule):
// [RFC1035] RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 octets on the wire,
//   which is 253 characters written without the final dot; §3.3.14: a TXT record is one or more
//   <character-string>s, each at most 255 octets.
// [RFC1123] RFC 1123 §2.1 and RFC 5890 §2.3.1 ("LDH label"): letters, digits and hyphens, not
//   starting or ending with a hyphen. RFC 3696 §2: a top-level domain is never all-numeric, so a
//   name that ends in a number is read as an IPv4 address.
// [IDNA] The WHATWG URL Standard's "domain to ASCII" (UTS #46 processing, RFC 5891 A-labels),
//   which node:url's domainToASCII implements: `bücher.example` becomes `xn--bcher-kva.example`.
// [ADDR] RFC 5322 §3.4.1 addr-spec is local-part "@" domain; the local part may itself hold a
//   quoted "@" (RFC 5321 §4.1.2), so the domain is what follows the last one.
// [SCIM] RFC 7643 §4.1.2: emails carry a `type` ("work", "home", "other") and a `primary` flag;
//   `type` is case-insensitive (caseExact false, §8.7.1).
// [ENTRA] "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
//   (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups):
//   the default mapping sends the user's mail as emails[type eq "work"].value.
// [OKTA] "Okta and SCIM Version 2.0" (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20):
//   Okta sends the user's email with "primary": true.
// [SPF] RFC 7208 §3.3: the strings of a TXT record split into several are joined with no space.
// [GOOGLE] Google Workspace Admin Help, "Verify your domain with a TXT record"
//   (support.google.com/a/answer/183895), and [MICROSOFT] "Add DNS records to connect your domain"
//   (learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider):
//   both read the verification TXT record at the domain itself.
// [NODE] Node.js `dns` documentation: resolveTxt resolves to string[][] (one array of chunks per
//   record) and rejects with `code` ENOTFOUND (NXDOMAIN), ENODATA, ESERVFAIL, ETIMEOUT, ECONNREFUSED…
import { randomBytes } from 'node:crypto'
import { resolveTxt } from 'node:dns/promises'
import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import { quote } from '../scim/errors.ts'
import { fold } from '../scim/fold.ts'

export type DomainResult = { ok: true; domain: string } | { ok: false; reason: string }

/**
 * Free mailbox providers: anyone can open an address there, so such a domain says nothing about
 * who belongs to an organization. Not exhaustive; `force` lets an admin claim one anyway.
 */
export const CONSUMER_DOMAINS: ReadonlySet<string> = new Set([
  'gmail.com', 'googlemail.com',
  'outlook.com', 'hotmail.com', 'hotmail.co.uk', 'hotmail.fr', 'live.com', 'msn.com',
  'yahoo.com', 'yahoo.co.uk', 'yahoo.co.jp', 'yahoo.fr', 'ymail.com', 'rocketmail.com',
  'icloud.com', 'me.com', 'mac.com',
  'aol.com',
  'proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me',
  'gmx.com', 'gmx.de', 'gmx.net', 'web.de', 'mail.com',
  'yandex.ru', 'yandex.com', 'mail.ru',
  'qq.com', '163.com', '126.com', 'naver.com',
  'zoho.com', 'fastmail.com', 'hey.com', 'tutanota.com', 'tuta.io',
])

const MAX_LABEL = 63 // [RFC1035]
const MAX_NAME = 253 // [RFC1035], without the final dot
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/ // [RFC1123]
/** What the URL Standard's IPv4 parser takes for a number: digits, or 0x and hex digits. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/
const EXAMPLE = 'acme.com'

const refuse = (reason: string): DomainResult => ({ ok: false, reason })

/**
 * How an admin accepts a consumer domain anyway, in the words of the surface the refusal goes
 * to: the CLI's flag, the API's body field, or, where the surface has neither, where to do it.
 */
export const FORCE_HINTS = {
  cli: 'Use --force to add it anyway.',
  api: 'Send "force": true with the change to add it anyway.',
  operatorApi: 'Create the organization without it; its admin can then add it with PATCH /api/v1/orgs/{org}/settings and "force": true.',
  cliVerify: 'List it first with roster org set ORG --domain-add DOMAIN --force, then verify it.',
  apiVerify: 'List it first with PATCH /api/v1/orgs/{org}/settings ("domainAdd" and "force": true), then verify it.',
} as const
export type ForceHint = keyof typeof FORCE_HINTS

/**
 * Normalizes a domain an admin typed (trim, lower case, one final dot dropped, IDNA to punycode)
 * or says why it cannot be an organization's email domain. `force` accepts a consumer domain;
 * `hint` says, in the refusal of one, how the caller's surface accepts it (FORCE_HINTS).
 */
export function normalizeDomain(input: string, opts: { force?: boolean; hint?: ForceHint } = {}): DomainResult {
  const trimmed = input.trim()
  if (trimmed === '') return refuse(`The domain is empty: give a domain name such as ${EXAMPLE}.`)
  const q = quote(trimmed)
  const lower = trimmed.toLowerCase()

  const bare = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower
  if (isIP(bare) !== 0) return refuse(`${q} is an IP address, not a domain name: give a domain name such as ${EXAMPLE}.`)
  if (lower.includes('*')) {
    const parent = lower.startsWith('*.') ? ` (${lower.slice(2)})` : ''
    return refuse(
      `${q} is a wildcard, which a domain cannot be: give the parent domain${parent} and turn on the organization's subdomains setting to accept its subdomains.`,
    )
  }
  if (/[@/:\s]/.test(lower)) {
    return refuse(`${q} is not a domain name: give the domain only, such as ${EXAMPLE} for https://${EXAMPLE} or bob@${EXAMPLE}.`)
  }

  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower
  // An ASCII character outside LDH would be mapped or dropped by the URL Standard (`%41` is
  // decoded, `\` ends the host), so it is refused before conversion.
  const stray = [...name].find((c) => c < '\u0080' && !/[a-z0-9.-]/.test(c))
  if (stray !== undefined) {
    return refuse(`${q} contains ${quote(stray)}: a domain name holds only letters, digits, hyphens and dots.`)
  }
  const last = name.slice(name.lastIndexOf('.') + 1)
  if (NUMERIC_LABEL.test(last)) {
    return refuse(`${q} ends in a number, so it reads as an IP address, not a domain name: give a domain name such as ${EXAMPLE}.`)
  }

  const ascii = domainToASCII(name) // [IDNA]; '' when the name is not a valid IDN
  if (ascii === '') return refuse(`${q} is not a valid internationalized domain name.`)
  if (isIP(ascii) !== 0) return refuse(`${q} is an IP address, not a domain name: give a domain name such as ${EXAMPLE}.`)
  const shown = ascii === name ? q : `${q} (${ascii} in DNS)`
  const labels = ascii.split('.')
  if (labels.length === 1) return refuse(`${q} is a single label, not a full domain name: give a domain such as ${EXAMPLE}.`)
  for (const label of labels) {
    if (label === '') return refuse(`${shown} has an empty label (two dots in a row, or a leading dot).`)
    if (label.length > MAX_LABEL) {
      return refuse(`${shown} has a label of ${label.length} characters; a DNS label is at most ${MAX_LABEL}.`)
    }
    if (!LDH_LABEL.test(label)) {
      return refuse(`${shown} has a label (${quote(label)}) that starts or ends with a hyphen or holds other characters than letters, digits and hyphens.`)
    }
  }
  if (ascii.length > MAX_NAME) {
    return refuse(`${shown} is ${ascii.length} characters long; a domain name is at most ${MAX_NAME}.`)
  }
  if (opts.force !== true && CONSUMER_DOMAINS.has(ascii)) {
    return refuse(
      `${q} is a consumer mailbox provider: anyone can get an address there, so it does not identify the organization's users.` +
        (opts.hint === undefined ? '' : ` ${FORCE_HINTS[opts.hint]}`),
    )
  }
  return { ok: true, domain: ascii }
}

/**
 * The normalized domain of an email address [ADDR] (consumer domains included), or null when the
 * value is not an email address: no "@", nothing before it, or no valid domain after it.
 */
export function emailDomainOf(value: string): string | null {
  const trimmed = value.trim()
  const at = trimmed.lastIndexOf('@')
  if (at <= 0) return null
  const result = normalizeDomain(trimmed.slice(at + 1), { force: true })
  return result.ok ? result.domain : null
}

/**
 * True when `domain` is one of `allowed`, or, with `subdomains`, below one of them (`eu.acme.com`
 * under `acme.com`; `notacme.com` is not). Both sides are normalized forms (normalizeDomain).
 */
export function domainAllowed(domain: string, allowed: readonly string[], subdomains: boolean): boolean {
  return allowed.some((parent) => domain === parent || (subdomains && domain.endsWith(`.${parent}`)))
}

export interface DomainCheckedUser {
  readonly userName?: string | null
  readonly emails: readonly { readonly value: string; readonly primary?: boolean; readonly type?: string | null }[]
}

/**
 * The values that break "the userName (when it is an email address) and the primary email and
 * any work email are inside the domains": userName first, then emails in order, each value once
 * (compared case-insensitively). With `allowed` empty every checked value is outside: whether an
 * organization without domains checks anything is the caller's (provisioning/policy.ts).
 *
 * A userName is taken for an email address when it holds an "@" after at least one character; one
 * whose domain is not valid (`bob@localhost`) is refused rather than let through. A primary or work
 * email that is not an email address is refused likewise. Other emails ("home", "other", no type)
 * are not checked [SCIM] [ENTRA] [OKTA].
 */
export function outsideDomains(values: DomainCheckedUser, allowed: readonly string[], subdomains: boolean): string[] {
  const inside = (value: string): boolean => {
    // The usual case without normalizing: the text after the `@` is a listed domain as it is
    // stored (a SCIM write's profile put normalization at a fortieth of a create).
    const at = value.lastIndexOf('@')
    if (at > 0 && allowed.includes(value.slice(at + 1).toLowerCase())) return true
    const domain = emailDomainOf(value)
    return domain !== null && domainAllowed(domain, allowed, subdomains)
  }
  const checked: string[] = []
  const userName = values.userName
  if (typeof userName === 'string' && userName.trim().lastIndexOf('@') > 0) checked.push(userName)
  for (const email of values.emails) {
    if (email.primary === true || email.type?.trim().toLowerCase() === 'work') checked.push(email.value)
  }
  const seen = new Set<string>()
  const outside: string[] = []
  for (const value of checked) {
    const key = fold(value.trim())
    if (seen.has(key)) continue
    seen.add(key)
    if (!inside(value)) outside.push(value)
  }
  return outside
}

// --- DNS TXT verification ---

/** The shape of node:dns/promises resolveTxt: one array of strings per record [NODE]. */
export type TxtResolver = (name: string) => Promise<string[][]>

export const systemTxtResolver: TxtResolver = (name) => resolveTxt(name)

export const VERIFICATION_LABEL = '_roster-verification'
export const VERIFICATION_PREFIX = 'roster-verification='
export const DEFAULT_VERIFICATION_TIMEOUT_MS = 5_000

export type VerificationResult = { state: 'verified' } | { state: 'failed'; reason: string }

/** The TXT record an admin adds to prove control of `domain` (normalized). */
export function verificationRecord(domain: string, token: string): { name: string; value: string } {
  return { name: `${VERIFICATION_LABEL}.${domain}`, value: VERIFICATION_PREFIX + token }
}

/** 128 random bits, base64url (22 characters). */
export function newVerificationToken(): string {
  return randomBytes(16).toString('base64url')
}

type Lookup = { kind: 'records'; values: string[] } | { kind: 'none' } | { kind: 'error'; code: string }

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']) // NXDOMAIN, and a name without TXT records [NODE]

async function lookup(resolver: TxtResolver, name: string): Promise<Lookup> {
  try {
    const records = await resolver(name)
    // [RFC1035] [SPF]: a record's strings are one value.
    const values = records.map((chunks) => chunks.join('').trim())
    return values.length === 0 ? { kind: 'none' } : { kind: 'records', values }
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    if (typeof code === 'string' && NO_RECORD.has(code)) return { kind: 'none' }
    return { kind: 'error', code: typeof code === 'string' ? code : err instanceof Error ? err.message : String(err) }
  }
}

const TIMED_OUT = Symbol('timed out')

/**
 * Looks for the verification record at `_roster-verification.<domain>`, then at the domain itself
 * ([GOOGLE] [MICROSOFT] read theirs there). Never throws: a missing record, a wrong value, a
 * resolver error or no answer within `timeoutMs` (default 5 s) each give `failed` with a reason
 * for the admin.
 */
export async function checkDomainVerification(
  domain: string,
  token: string,
  resolver: TxtResolver,
  opts: { timeoutMs?: number } = {},
): Promise<VerificationResult> {
  const record = verificationRecord(domain, token)
  const timeoutMs = opts.timeoutMs ?? DEFAULT_VERIFICATION_TIMEOUT_MS
  const add = `Add a TXT record named ${record.name} with the value ${record.value}, then try again (a new record can take a while to appear in DNS).`
  const failed = (reason: string): VerificationResult => ({ state: 'failed', reason })
  if (token.trim() === '') return failed(`The domain ${domain} has no verification token; start its verification again.`)

  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs)
  })
  const timedOut = failed(`The DNS lookup of the TXT records for ${domain} did not answer within ${timeoutMs} ms; try again in a few minutes.`)
  try {
    const atLabel = await Promise.race([lookup(resolver, record.name), deadline])
    if (atLabel === TIMED_OUT) return timedOut
    if (atLabel.kind === 'records' && atLabel.values.includes(record.value)) return { state: 'verified' }
    const atApex = await Promise.race([lookup(resolver, domain), deadline])
    if (atApex === TIMED_OUT) return timedOut
    if (atApex.kind === 'records' && atApex.values.includes(record.value)) return { state: 'verified' }

    for (const [name, result] of [[record.name, atLabel], [domain, atApex]] as const) {
      if (result.kind === 'error') {
        return failed(`The DNS lookup of the TXT records at ${name} failed (${result.code}); try again in a few minutes.`)
      }
    }
    // Records at the label are all ours; at the apex only those that look like ours (SPF and
    // other verifications live there too).
    const stale = [
      ...(atLabel.kind === 'records' ? atLabel.values : []),
      ...(atApex.kind === 'records' ? atApex.values.filter((v) => v.startsWith(VERIFICATION_PREFIX)) : []),
    ]
    if (stale.length > 0) {
      return failed(`The TXT record found for ${domain} reads ${stale.map((v) => quote(v)).join(', ')}, not ${record.value}. ${add}`)
    }
    return failed(`No TXT record named ${record.name} was found. ${add}`)
  } catch (err) {
    return failed(`The DNS lookup of the TXT records for ${domain} failed (${err instanceof Error ? err.message : String(err)}); try again in a few minutes.`)
  } finally {
    clearTimeout(timer)
  }
}
