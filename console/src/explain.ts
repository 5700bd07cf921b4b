// A failed SCIM request of the provisioning log in plain words, with the likely fix (RFC 7644
// §3.12 names the error types; the details are Roster's own, docs/provisioning-log.md).
export interface Explanation {
  readonly what: string
  readonly fix: string
}

interface Failure {
  readonly status: number
  readonly scimType: string | null
  readonly detail: string | null
  readonly method: string
}

export function explain(e: Failure): Explanation | null {
  if (e.status < 400) return null
  const detail = e.detail ?? ''
  if (e.status === 401) {
    return { what: 'The identity provider sent a token Roster does not accept: it was refreshed or revoked, or was copied wrong.', fix: 'Paste the current token into the identity provider (Token page: refresh it if it is lost), then test the connection again.' }
  }
  if (e.status === 400 && /outside|domain/i.test(detail)) {
    return { what: 'The user\'s email or userName is in a domain this organization does not list, so it was refused.', fix: 'Add the domain under Settings → Email domains, or set "Users outside the domains" to allow; then retry provisioning the user.' }
  }
  if (e.status === 409 && e.scimType === 'uniqueness') {
    return { what: 'Another user or group of this organization already has this userName or displayName (compared case-insensitively).', fix: 'Match the existing user in the identity provider (unique identifier: userName), or remove the duplicate, then retry.' }
  }
  if (e.status === 409) {
    return { what: 'The identity provider tried to change something Roster keeps as it is.', fix: detail || 'Read the detail below and change the mapping in the identity provider.' }
  }
  if (e.status === 400 && (e.scimType === 'invalidFilter')) {
    return { what: 'The identity provider asked with a filter Roster could not read.', fix: 'Check the matching attribute: use userName as the unique identifier.' }
  }
  if (e.status === 400 && (e.scimType === 'invalidSyntax' || e.scimType === 'invalidValue') && /attribute|schema|unknown/i.test(detail)) {
    return { what: 'The identity provider sent an attribute Roster does not support, or a value of the wrong kind.', fix: 'Remove or correct that attribute\'s mapping in the identity provider.' }
  }
  if (e.status === 400) {
    return { what: 'The request was not valid SCIM, so nothing was written.', fix: detail ? `Correct what the detail names: ${detail}` : 'Check the attribute mappings in the identity provider.' }
  }
  if (e.status === 404) {
    return { what: 'The identity provider referred to a user or group that does not exist here (deleted, or never provisioned).', fix: 'Let the identity provider re-provision it (restart provisioning, or clear its cached id).' }
  }
  if (e.status === 412) {
    return { what: 'The identity provider changed a resource from an out-of-date copy.', fix: 'Nothing to do: it reads the resource again and retries.' }
  }
  if (e.status === 413) return { what: 'The request was too large.', fix: 'Send fewer members or operations per request.' }
  if (e.status >= 500) return { what: 'Roster could not answer (the database was busy or unreachable).', fix: 'The identity provider retries by itself; if it lasts, tell the operator.' }
  return { what: `The request was refused (${e.status}).`, fix: detail || 'Read the detail below.' }
}
