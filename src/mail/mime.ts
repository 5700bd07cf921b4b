// An email as the bytes a mail server or an .eml reader takes (RFC 5322, with MIME: RFC 2045,
// 2046, 2047): the headers, then the text and the HTML body as one multipart/alternative (RFC 2046
// §5.1.4: the plain part first, the richer part last). Built here rather than by nodemailer's
// composer, which cost the event loop about a millisecond a message (its stream pipeline and
// per-header objects; measured 650–1,050 µs against 30–40 µs here, `npm run bench:mail`) at the rate a
// first sync of thousands of users queues invitations. nodemailer still speaks SMTP
// (transport.ts) and is handed the finished message.
//
// The output is 7-bit: a header with other than printable ASCII is RFC 2047 encoded-words, a body
// is sent as it is when it is ASCII with lines of at most 998 characters (RFC 5322 §2.1.1) and as
// quoted-printable (RFC 2045 §6.7) otherwise, so any relay takes it (no 8BITMIME needed). Lines
// end in CRLF (RFC 5322 §2.1).

/** A message's sender: an address and an optional display name. */
export interface Mailbox {
  readonly name: string
  readonly address: string
}

export interface MimeInput {
  readonly from: string
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface BuiltMessage {
  readonly raw: Buffer
  /** The Message-ID header's value, angle brackets included. */
  readonly messageId: string
  /** The SMTP envelope: the sender's bare address and the one recipient. */
  readonly envelope: { readonly from: string; readonly to: string }
}

// One addr-spec with no spaces, brackets or list separators: a display name or a list can never ride along.
const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+$/
const NAME_ADDR = /^(.*?)\s*<([^<>]*)>$/
// RFC 5322 §3.2.3: a phrase of atoms needs no quoting.
const ATOMS = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
/** Longest header line we write (RFC 5322 §2.1.1 asks for 78 at most). */
const HEADER_LINE = 78
/** RFC 2047 §2: an encoded-word is at most 75 characters, a line holding one at most 76. */
const ENCODED_WORD = 75
const ENCODED_LINE = 76
/** RFC 2045 §6.7: a quoted-printable line is at most 76 characters. */
const QP_LINE = 76
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Whether `s` is one bare address (no display name, no list), as a message's `to` must be. */
export function isBareAddress(s: string): boolean {
  return ADDRESS.test(s)
}

/**
 * Reads `Name <address>`, `"Name" <address>` or a bare address (ROSTER_MAIL_FROM); null for
 * anything else, a group or a list among them.
 */
export function parseMailbox(text: string): Mailbox | null {
  const s = text.trim()
  if (ADDRESS.test(s)) return { name: '', address: s }
  const m = NAME_ADDR.exec(s)
  if (!m) return null
  const address = (m[2] ?? '').trim()
  if (!ADDRESS.test(address)) return null
  let name = (m[1] ?? '').trim()
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, '$1')
  // Unquoted, a bracket or a quote means a second address or a broken quote.
  else if (/[<>"]/.test(name)) return null
  if (/[\r\n]/.test(name)) return null
  return { name, address }
}

/** The message's bytes, with `now` as its Date and `random` (hex) making its Message-ID and boundary unique. */
export function buildMessage(input: MimeInput, now: Date, random: () => string): BuiltMessage {
  const from = parseMailbox(input.from)
  if (from === null) throw new Error('"from" must be an address or "Name <address>"')
  const domain = from.address.slice(from.address.lastIndexOf('@') + 1)
  const messageId = `<${random()}@${domain}>`
  const boundary = `----=_roster_${random()}`
  const lines = [
    header('From', from.name === '' ? from.address : `${phrase(from.name, 'From: '.length)} <${from.address}>`, false),
    header('To', input.to, false),
    header('Subject', input.subject, true),
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: ${messageId}`,
  ]
  for (const [name, value] of Object.entries(input.headers ?? {})) lines.push(header(name, value, true))
  lines.push('MIME-Version: 1.0', `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`, '')
  for (const [type, body] of [['text/plain', input.text], ['text/html', input.html]] as const) {
    const encoded = encodeBody(body)
    lines.push(`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, `Content-Transfer-Encoding: ${encoded.encoding}`, '', encoded.text)
  }
  lines.push(`--${boundary}--`, '')
  return { raw: Buffer.from(lines.join('\r\n'), 'latin1'), messageId, envelope: { from: from.address, to: input.to } }
}

/** RFC 5322 §3.3: `Wed, 02 Dec 2026 23:04:21 +0000`. */
export function rfc5322Date(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
}

/**
 * A display name: atoms as they are, other ASCII as a quoted-string, anything else encoded-words
 * (the first after `start` characters of its line).
 */
function phrase(name: string, start: number): string {
  if (ATOMS.test(name)) return name
  if (PRINTABLE_ASCII.test(name)) return `"${name.replace(/[\\"]/g, '\\$&')}"`
  return encodedWords(name, start).join(' ')
}

/**
 * `Name: value` folded at spaces to lines of HEADER_LINE characters where it can be. An
 * unstructured value (`text`: Subject, custom headers) with other than printable ASCII becomes
 * encoded-words, one a line.
 */
function header(name: string, value: string, text: boolean): string {
  const words = value.split(' ')
  // A word that no fold could bring under the 998-character limit (RFC 5322 §2.1.1) is encoded too.
  if (text && (!PRINTABLE_ASCII.test(value) || words.some((w) => w.length > HEADER_LINE * 10))) return `${name}: ${encodedWords(value, name.length + 2).join('\r\n ')}`
  let out = `${name}:`
  let line = out.length
  for (const [i, w] of words.entries()) {
    // A fold is a CRLF before a space (RFC 5322 §2.2.3); a word is never split.
    if (i > 0 && line + 1 + w.length > HEADER_LINE) {
      out += `\r\n ${w}`
      line = 1 + w.length
    } else {
      out += ` ${w}`
      line += 1 + w.length
    }
  }
  return out
}

/**
 * RFC 2047 `=?utf-8?B?…?=` words, never splitting a character: each at most ENCODED_WORD
 * characters, and the first short enough to end its line (which holds `start` characters before
 * it) within ENCODED_LINE; the others go on lines of their own.
 */
function encodedWords(value: string, start: number): string[] {
  const words: string[] = []
  // A word is "=?utf-8?B?" + base64 + "?=": 12 characters and 4 for every 3 bytes.
  const bytesFor = (chars: number) => Math.max(3, Math.floor((chars - 12) / 4) * 3)
  let maxBytes = bytesFor(Math.min(ENCODED_WORD, ENCODED_LINE - start))
  let chunk: number[] = []
  const flush = () => {
    if (chunk.length > 0) words.push(`=?utf-8?B?${Buffer.from(chunk).toString('base64')}?=`)
    chunk = []
    maxBytes = bytesFor(Math.min(ENCODED_WORD, ENCODED_LINE - 1))
  }
  for (const ch of value) {
    const bytes = Buffer.from(ch, 'utf8')
    if (chunk.length > 0 && chunk.length + bytes.length > maxBytes) flush()
    chunk.push(...bytes)
  }
  flush()
  return words.length > 0 ? words : ['=?utf-8?B??=']
}

/** A body with CRLF line ends: as it is when 7-bit safe, else quoted-printable. */
function encodeBody(body: string): { encoding: '7bit' | 'quoted-printable'; text: string } {
  const lines = body.split(/\r\n|\r|\n/)
  // Tabs pass in 7bit; other controls, non-ASCII and over-long lines need encoding.
  if (lines.every((l) => l.length <= 998 && /^[\t\x20-\x7e]*$/.test(l))) return { encoding: '7bit', text: lines.join('\r\n') }
  return { encoding: 'quoted-printable', text: lines.map(quotedPrintableLine).join('\r\n') }
}

/** RFC 2045 §6.7: one line, its UTF-8 bytes; `=` and what is not printable as `=XX`; soft breaks keep lines to QP_LINE. */
function quotedPrintableLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8')
  const out: string[] = []
  let current = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    const last = i === bytes.length - 1
    // Rule 3: a space or tab that ends the line is encoded, so that transport cannot strip it.
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last)
    const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`
    // Rule 5: a soft line break (`=` at the end) keeps every line within QP_LINE characters.
    if (current.length + token.length > QP_LINE - 1) {
      out.push(`${current}=`)
      current = ''
    }
    current += token
  }
  out.push(current)
  return out.join('\r\n')
}
