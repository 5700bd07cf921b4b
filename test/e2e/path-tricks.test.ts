// Path and template tricks (SAP SCIMono CVE-2021-21479: a template expression in a SCIM request
// was evaluated in an error message; apache/directory-scimple PR #1126, the same class): template
// expressions, encoded dot segments, an encoded NUL and a 10,000-character id in the path, and
// template expressions in values that error details quote. On both stores through a listening
// server, sent byte for byte (node:http with a path, not a URL that would resolve `%2e%2e`): each
// is a 400, 404 or 414 SCIM error in application/scim+json; nothing is evaluated (no "49"
// anywhere), and a detail quoting the input quotes it as it was sent, inside a JSON string.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const PATCHOP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const TEMPLATES = ['${7*7}', '{{7*7}}', '#{7*7}', '<%= 7*7 %>']

/** A request whose path is sent exactly as given. */
function raw(port: number, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const req = request({ host: '127.0.0.1', port, method, path, headers: { authorization: `Bearer ${token}`, ...(text === undefined ? {} : { 'content-type': 'application/scim+json', 'content-length': String(Buffer.byteLength(text)) }) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(text)
  })
}

describe.each(storeMatrix())('path and template tricks on $name', (factory) => {
  let t: TestApp
  let port: number
  let userId: string

  beforeAll(async () => {
    t = await startApp(factory)
    port = Number(new URL(await listening(t)).port)
    const created = await t.req('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'tricks@example.com' })
    userId = String(created.json.id)
  })
  afterAll(async () => {
    await t.close()
  })

  function expectRefused(what: string, r: { status: number; type: string; text: string }, allowed: readonly number[]): Record<string, unknown> {
    expect(allowed, `${what}: ${r.status} ${r.text.slice(0, 300)}`).toContain(r.status)
    expect(r.type, what).toContain('application/scim+json')
    // The user's id is random and may hold "49" itself.
    expect(r.text.split(userId).join(''), what).not.toContain('49')
    const json = JSON.parse(r.text) as Record<string, unknown>
    expect(json.schemas, what).toEqual([ERROR])
    expect(typeof json.detail, what).toBe('string')
    return json
  }

  it('template expressions, encoded dot segments, an encoded NUL and a 10,000-character id in the path: 400, 404 or 414, nothing evaluated', async () => {
    const paths: [string, readonly number[]][] = [
      ['/scim/v2/Schemas/${7*7}', [404]],
      ['/scim/v2/Schemas/%24%7B7*7%7D', [404]],
      ['/scim/v2/Users/${7*7}', [404]],
      ['/scim/v2/Users/{{7*7}}', [404]],
      ['/scim/v2/Users/%7B%7B7*7%7D%7D', [404]],
      ['/scim/v2/Users/%2e%2e/Groups', [404]],
      ['/scim/v2/Users/%2E%2E/%2E%2E/Groups', [404]],
      [`/scim/v2/Users/%2e%2e%2f${userId}`, [404]],
      ['/scim/v2/Users/abc%00def', [400]],
      [`/scim/v2/Users/${'a'.repeat(10_000)}`, [404, 414]],
    ]
    for (const [path, allowed] of paths) {
      for (const method of ['GET', 'DELETE']) {
        const json = expectRefused(`${method} ${path}`, await raw(port, method, path, t.token), allowed)
        // A detail that names the path names it as sent (never a resolved or evaluated form).
        if (typeof json.detail === 'string' && json.detail.includes('7*7')) expect(json.detail, path).toMatch(/\$\{7\*7\}|\{\{7\*7\}\}|%7B/i)
      }
    }
    // The dot segments resolved nothing: the user is still there, and the Groups list untouched.
    expect((await t.req('GET', `/Users/${userId}`)).status).toBe(200)
  })

  it('template expressions in values that error details quote are quoted as sent, never evaluated', async () => {
    for (const tpl of TEMPLATES) {
      const answers: [string, { status: number; type: string; text: string }][] = [
        ['filter', await raw(port, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`${tpl} eq "x"`)}`, t.token)],
        ['sortBy', await raw(port, 'GET', `/scim/v2/Users?sortBy=${encodeURIComponent(tpl)}`, t.token)],
        ['PATCH path', await raw(port, 'PATCH', `/scim/v2/Users/${userId}`, t.token, { schemas: [PATCHOP], Operations: [{ op: 'replace', path: tpl, value: 'x' }] })],
        ['PATCH op', await raw(port, 'PATCH', `/scim/v2/Users/${userId}`, t.token, { schemas: [PATCHOP], Operations: [{ op: tpl, path: 'displayName', value: 'x' }] })],
        ['PATCH value filter', await raw(port, 'PATCH', `/scim/v2/Users/${userId}`, t.token, { schemas: [PATCHOP], Operations: [{ op: 'replace', path: `emails[${tpl}].value`, value: 'x' }] })],
        ['userName type', await raw(port, 'POST', '/scim/v2/Users', t.token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: [tpl] })],
      ]
      // An unquoted filter value is read as a string where that is unambiguous (docs/compatibility.md): matched as text.
      const unquoted = await raw(port, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq ${tpl}`)}`, t.token)
      expect([200, 400], `${tpl}: ${unquoted.text}`).toContain(unquoted.status)
      expect(unquoted.text.split(userId).join('')).not.toContain('49')
      if (unquoted.status === 200) expect(JSON.parse(unquoted.text).totalResults).toBe(0)
      for (const [what, r] of answers) {
        const json = expectRefused(`${what} ${tpl}`, r, [400])
        // Quoted inside a JSON string: JSON.parse gave back the characters sent, not a value made of them.
        if (String(json.detail).includes('7*7')) expect(String(json.detail), what).toContain(tpl)
      }
    }
    // A template expression as a stored value is data: answered as sent.
    const stored = await t.req('PATCH', `/Users/${userId}`, { schemas: [PATCHOP], Operations: [{ op: 'replace', path: 'displayName', value: '${7*7} {{7*7}}' }] })
    expect(stored.status).toBe(200)
    expect(stored.json.displayName).toBe('${7*7} {{7*7}}')
  })
})
