// SCIM error documents (RFC 7644 §3.12). A client's mistake is a ScimError, thrown where it is
// found and rendered once by the HTTP layer; anything else is a bug and becomes a 500.

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'

// RFC 7644 §3.12, table 9: which scimType goes with which status. 413 carries tooMany
// for an oversized body, 403 carries sensitive (§7.5.2).
const ALLOWED: Readonly<Record<number, readonly ScimType[]>> = {
  400: ['invalidFilter', 'tooMany', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'mutability'],
  403: ['sensitive'],
  409: ['uniqueness'],
  413: ['tooMany'],
}

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA]
  status: string
  scimType?: ScimType
  detail: string
}

export class ScimError extends Error {
  readonly status: number
  readonly scimType: ScimType | null
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, scimType: ScimType | null, detail: string, headers: Record<string, string> = {}) {
    super(detail)
    if (scimType !== null && !(ALLOWED[status] ?? []).includes(scimType)) {
      throw new TypeError(`scimType ${scimType} does not go with status ${status}`)
    }
    this.name = 'ScimError'
    this.status = status
    this.scimType = scimType
    this.headers = headers
  }

  toBody(): ScimErrorBody {
    const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(this.status), detail: this.message }
    if (this.scimType !== null) body.scimType = this.scimType
    return body
  }
}

/** Quotes a client-supplied value for an error detail: bounded and never evaluated (SCIMple PR #1126). */
export function quote(value: unknown, max = 64): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  const cut = s.length > max ? `${s.slice(0, max)}…` : s
  return JSON.stringify(cut)
}
