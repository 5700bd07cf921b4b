// Abuse through a real server and real sockets (`roster serve`), on a SQLite file and on
// PostgreSQL (slow clients: slow-clients.test.ts): many idle connections, oversized headers, deep
// JSON, huge arrays, PATCH with 1,000 operations and 10,000 member values, count=1000000,
// startIndex=2^53, invalid UTF-8, NUL bytes. Each gets a bounded answer (a status, a SCIM error
// body on SCIM routes, never a 5xx), another organization's request made at the same moment
// succeeds, and the server's memory after the barrage stays within a bound of where it began.
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { httpRequest, idleSockets, rawRequest } from './lib/raw.ts'
import { seedDatabase } from './lib/seed.ts'
import { call, startServer, type Server } from '../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const adminUrl = process.env.TEST_DATABASE_URL

const targets = [
  { name: 'sqlite', open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-abuse-'))
    return { url: `sqlite:${join(dir, 'roster.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) }
  } },
  ...(adminUrl ? [{ name: 'postgres', open: () => createTestDatabase(adminUrl, 'roster_abuse') }] : []),
]

describe.each(targets)('abuse on $name', ({ open }) => {
  let db: { url: string; drop: () => Promise<void> }
  let s: Server
  let attacker = ''
  let attackerKey = ''
  let attackerOrg = ''
  let bystander = ''
  let bystanderUser = ''
  let groupId = ''
  let memberIds: string[] = []
  let rssBefore = 0

  beforeAll(async () => {
    db = await open()
    // The organizations and the attacker's 10,000 users (for the member PATCH) are set up in
    // process, before the server starts: setup, not what is under test.
    const seeded = await seedDatabase(db.url, ['attacker', 'bystander'], 10_000, (i) => `m${i}@attacker.example`, ['directory:read', 'directory:write'])
    ;[attacker = '', bystander = ''] = seeded.tokens
    attackerKey = seeded.key
    attackerOrg = seeded.orgIds[0] ?? ''
    memberIds = seeded.userIds
    s = await startServer(db.url, { ROSTER_REQUEST_TIMEOUT_MS: '5000' })
    bystanderUser = String((await call(s.base, 'POST', '/scim/v2/Users', bystander, { schemas: [USER], userName: 'calm@bystander.example' })).json.id)
    groupId = String((await call(s.base, 'POST', '/scim/v2/Groups', attacker, { schemas: [GROUP], displayName: 'Big' })).json.id)
    rssBefore = s.rssKiB() ?? 0
  }, 120_000)

  afterAll(async () => {
    await s?.kill('SIGTERM')
    await db?.drop()
  })

  /** The bystander's lookup, made while `attack` runs: it must succeed. */
  async function alongside<T>(attack: Promise<T>): Promise<T> {
    const [r, calm] = await Promise.all([attack, call(s.base, 'GET', `/scim/v2/Users/${bystanderUser}`, bystander)])
    expect(calm.status).toBe(200)
    return r
  }

  const scimError = (r: { status: number; json: Record<string, unknown> }, status: number, scimType?: string) => {
    expect(r.status).toBe(status)
    expect(r.json).toMatchObject({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}) })
  }

  it('PATCH with 1,000 operations adding 10,000 members is applied whole; 1,001 operations and 10,001 values are 400 tooMany', async () => {
    const ops = Array.from({ length: 1_000 }, (_, i) => ({ op: 'add', path: 'members', value: memberIds.slice(i * 10, i * 10 + 10).map((value) => ({ value })) }))
    const r = await alongside(call(s.base, 'PATCH', `/scim/v2/Groups/${groupId}`, attacker, { schemas: [PATCH], Operations: ops }))
    expect(r.status).toBe(204)
    const g = await call(s.base, 'GET', `/scim/v2/Groups/${groupId}?attributes=members`, attacker)
    expect((g.json.members as unknown[]).length).toBe(10_000)
    const tooManyOps = await alongside(call(s.base, 'PATCH', `/scim/v2/Groups/${groupId}`, attacker, { schemas: [PATCH], Operations: Array.from({ length: 1_001 }, () => ({ op: 'remove', path: 'members[value eq "x"]' })) }))
    scimError(tooManyOps, 400, 'tooMany')
    const tooManyValues = await alongside(call(s.base, 'PATCH', `/scim/v2/Groups/${groupId}`, attacker, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members', value: [...memberIds, 'x'].map((value) => ({ value })) }] }))
    expect(tooManyValues.status).toBe(400)
    // 1,000 operations removing everyone, one failing at the end: nothing is removed.
    const failing = [...Array.from({ length: 999 }, (_, i) => ({ op: 'remove', path: 'members', value: memberIds.slice(i * 10, i * 10 + 10).map((value) => ({ value })) })), { op: 'add', path: 'members', value: [{ value: 'no-such-user' }] }]
    scimError(await alongside(call(s.base, 'PATCH', `/scim/v2/Groups/${groupId}`, attacker, { schemas: [PATCH], Operations: failing })), 400, 'invalidValue')
    expect(((await call(s.base, 'GET', `/scim/v2/Groups/${groupId}?attributes=members`, attacker)).json.members as unknown[]).length).toBe(10_000)
  }, 60_000)

  it('count=1000000 is clamped, startIndex=2^53 is an empty page, larger or malformed ones are 400', async () => {
    const big = await alongside(call(s.base, 'GET', '/scim/v2/Users?count=1000000&attributes=id', attacker))
    expect(big.status).toBe(200)
    expect((big.json.Resources ?? []).length).toBe(1_000)
    expect(big.json.itemsPerPage).toBe(1_000)
    // 2^53 is past Number.MAX_SAFE_INTEGER: an empty page, or a 400 naming the parameter.
    const far = await alongside(call(s.base, 'GET', `/scim/v2/Users?startIndex=${2 ** 53}`, attacker))
    if (far.status === 200) expect(far.json.Resources ?? []).toEqual([])
    else scimError(far, 400, 'invalidValue')
    const last = await alongside(call(s.base, 'GET', `/scim/v2/Users?startIndex=${2 ** 53 - 1}&count=1000000`, attacker))
    expect(last.status).toBe(200)
    expect(last.json.Resources ?? []).toEqual([])
    for (const q of [`startIndex=${2 ** 53}0`, 'startIndex=1e400', 'count=-1e400', 'startIndex=abc', 'count=1.5']) {
      const r = await call(s.base, 'GET', `/scim/v2/Users?${q}`, attacker)
      expect(r.status, q).toBeLessThan(500)
      if (r.status !== 200) scimError(r, 400)
    }
  })

  it('deep JSON, huge arrays and oversized bodies get 400 or 413 with a SCIM error', async () => {
    const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    scimError(await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, deepArray)), 400)
    const nested = `${'{"a":'.repeat(20_000)}"x"${'}'.repeat(20_000)}`
    const deepObject = await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, `{"schemas":["${USER}"],"userName":"deep@attacker.example","urn:example:deep":${nested}}`))
    expect(deepObject.status, deepObject.text).toBeLessThan(500)
    const deepPatch = await alongside(call(s.base, 'PATCH', `/scim/v2/Users/${memberIds[0]}`, attacker, `{"schemas":["${PATCH}"],"Operations":[{"op":"add","value":{"nickName":${nested}}}]}`))
    expect(deepPatch.status, deepPatch.text).toBeLessThan(500)
    const deepFilter = await alongside(call(s.base, 'POST', '/scim/v2/Users/.search', attacker, { filter: `${'('.repeat(5_000)}userName pr${')'.repeat(5_000)}` }))
    scimError(deepFilter, 400, 'invalidFilter')
    const manyEmails = Array.from({ length: 40_000 }, (_, i) => ({ value: `e${i}@x.example` }))
    const huge = await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, { schemas: [USER], userName: 'huge@attacker.example', emails: manyEmails }))
    expect(huge.status).toBeLessThan(500)
    const keys = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]))
    expect((await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, { schemas: [USER], userName: 'keys@attacker.example', ...keys }))).status).toBeLessThan(500)
    scimError(await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, { schemas: [USER], userName: 'x'.repeat(2 * 1024 * 1024) })), 413)
  })

  const headers = () => ({ authorization: `Bearer ${attacker}`, 'content-type': 'application/scim+json' })

  it('raw and escaped NUL bytes, invalid UTF-8 in a filter, and oversized headers get bounded answers', async () => {
    const answers = await alongside(Promise.all([
      rawRequest(s.port, [httpRequest('POST', '/scim/v2/Users', headers(), Buffer.from(`{"schemas":["${USER}"],"userName":"nul\u0000raw@x.example"}`))]),
      rawRequest(s.port, [httpRequest('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "')}%ff%c3${encodeURIComponent('"')}`, headers())]),
      rawRequest(s.port, [httpRequest('GET', '/scim/v2/Users/abc%00def', headers())]),
    ]))
    for (const a of answers) {
      expect(a.status, a.head).toBe(400)
      expect(JSON.parse(a.body)).toMatchObject({ schemas: [ERROR], status: '400' })
    }
    scimError(await alongside(call(s.base, 'POST', '/scim/v2/Users', attacker, { schemas: [USER], userName: 'a\u0000b@x.example' })), 400, 'invalidValue')
    const big = await alongside(rawRequest(s.port, [httpRequest('GET', '/scim/v2/Users', { ...headers(), 'x-padding': 'p'.repeat(64 * 1024) })]))
    expect(big.status).toBe(431)
  })

  // An answer sent before the body was read whole (413) used to close the socket while the
  // client was still writing: its next write failed (EPIPE) and fetch reported "fetch failed"
  // instead of the 413 (http/refused-body.ts). The body is now read to its end and discarded.
  it('a body refused as too large is read to its end: the client gets the 413, and its connection serves the next request', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 'x')
    const head = [`POST /scim/v2/Users HTTP/1.1`, 'Host: 127.0.0.1', `authorization: Bearer ${attacker}`, 'content-type: application/scim+json', `content-length: ${body.length}`, '', ''].join('\r\n')
    const next = httpRequest('GET', `/scim/v2/Users/${memberIds[0]}`, headers())
    const answer = await new Promise<{ text: string; error: string | null }>((resolve) => {
      const socket = connect(s.port, '127.0.0.1')
      let text = ''
      let error: string | null = null
      const done = () => {
        socket.destroy()
        resolve({ text, error })
      }
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1')
        if (/HTTP\/1\.1 200[\s\S]*"userName"/.test(text)) done()
      })
      socket.on('error', (err) => {
        error = err.message
        done()
      })
      socket.on('close', done)
      setTimeout(done, 15_000)
      // The headers first, then the body in 64 KiB pieces a few milliseconds apart: the server
      // answers from the Content-Length alone, long before the last piece is sent.
      socket.write(head)
      let at = 0
      const more = () => {
        if (socket.destroyed) return
        if (at >= body.length) return void socket.write(next)
        socket.write(body.subarray(at, at + 64 * 1024), () => setTimeout(more, 2))
        at += 64 * 1024
      }
      more()
    })
    expect(answer.error).toBeNull()
    expect(answer.text).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer.text).toContain('"scimType":"tooMany"')
    expect(answer.text).toMatch(/HTTP\/1\.1 200 [\s\S]*"userName"/)
    // Past the bound (8 MiB, or four times ROSTER_MAX_BODY_BYTES) nothing is read: 413 and closed.
    const huge = await rawRequest(s.port, [[`POST /scim/v2/Users HTTP/1.1`, 'Host: 127.0.0.1', `authorization: Bearer ${attacker}`, 'content-type: application/scim+json', `content-length: ${64 * 1024 * 1024}`, '', ''].join('\r\n')], { maxMs: 5_000 })
    expect(huge.status).toBe(413)
    expect(huge.head).toMatch(/^connection: close\r?$/im)
  })

  // JSON text is UTF-8 (RFC 8259 §8.1): bytes that are not are refused, never read as U+FFFD and
  // stored (they were: 201 with userName "bad\uFFFD\uFFFD\uFFFD@x.example").
  it('invalid UTF-8 in a body is a 400 naming the attribute, on SCIM and /api/v1, and nothing is stored', async () => {
    const bad = Buffer.from([0xff, 0xfe, 0xc3])
    const scimBody = Buffer.concat([Buffer.from(`{"schemas":["${USER}"],"userName":"bad`), bad, Buffer.from('@x.example"}')])
    const scim = await alongside(rawRequest(s.port, [httpRequest('POST', '/scim/v2/Users', headers(), scimBody)]))
    expect(scim.status, scim.body).toBe(400)
    expect(scim.head).toMatch(/^content-type: application\/scim\+json\r?$/im)
    expect(JSON.parse(scim.body)).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: expect.stringContaining('"userName"') })
    // Not JSON once the bytes are replaced either: the body as a whole.
    const broken = await rawRequest(s.port, [httpRequest('POST', '/scim/v2/Users', headers(), Buffer.concat([Buffer.from('{"userName":'), bad]))])
    expect(JSON.parse(broken.body)).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' })
    // A PATCH value and a Bulk operation's data go through the same parser.
    const patchBody = Buffer.concat([Buffer.from(`{"schemas":["${PATCH}"],"Operations":[{"op":"replace","path":"title","value":"t`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')])
    const patch = await rawRequest(s.port, [httpRequest('PATCH', `/scim/v2/Users/${memberIds[1]}`, headers(), patchBody)])
    expect(JSON.parse(patch.body)).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: expect.stringContaining('"Operations[0].value"') })
    const apiBody = Buffer.concat([Buffer.from('{"userName":"api'), bad, Buffer.from('@x.example"}')])
    const api = await rawRequest(s.port, [httpRequest('POST', `/api/v1/orgs/${attackerOrg}/users`, { authorization: `Bearer ${attackerKey}`, 'content-type': 'application/json' }, apiBody)])
    expect(api.status, api.body).toBe(400)
    expect(JSON.parse(api.body)).toMatchObject({ error: 'invalid_parameter', message: expect.stringContaining('"userName"') })
    for (const filter of ['userName sw "bad"', 'userName sw "api"']) {
      expect((await call(s.base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(filter)}`, attacker)).json.totalResults, filter).toBe(0)
    }
    expect((await call(s.base, 'GET', `/scim/v2/Users/${memberIds[1]}`, attacker)).json.title).toBeUndefined()
  })

  // RFC 3986 §2.5: percent-encoded octets of a path are UTF-8. An overlong `/` (%C0%AF) or a lone
  // %FF was Fastify's own {"code":"FST_ERR_BAD_URL"} body; now each surface's error.
  it('invalid UTF-8 in a path is a 400 SCIM error on SCIM routes and a JSON error on /api/v1', async () => {
    for (const path of ['/scim/v2/Users/%ff%fe', '/scim/v2/Users/%C0%AF', '/scim/v2/Groups/%FF']) {
      const a = await alongside(rawRequest(s.port, [httpRequest('GET', path, headers())]))
      expect(a.status, path).toBe(400)
      expect(a.head).toMatch(/^content-type: application\/scim\+json\r?$/im)
      expect(JSON.parse(a.body)).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' })
    }
    const api = await rawRequest(s.port, [httpRequest('GET', `/api/v1/orgs/${attackerOrg}/users/%C0%AF`, { authorization: `Bearer ${attackerKey}` })])
    expect(api.status).toBe(400)
    expect(api.head).toMatch(/^content-type: application\/json/im)
    expect(JSON.parse(api.body)).toMatchObject({ error: 'bad_request', message: expect.stringContaining('UTF-8') })
  })

  it('500 idle connections are held without refusing another organization', async () => {
    const idle = await idleSockets(s.port, 500)
    try {
      const calm = await Promise.all(Array.from({ length: 20 }, () => call(s.base, 'GET', `/scim/v2/Users/${bystanderUser}`, bystander)))
      expect(calm.map((r) => r.status)).toEqual(Array(20).fill(200))
    } finally {
      idle.close()
    }
  })

  it('memory after the barrage stays near where it began, and another organization is still served', async () => {
    expect((await call(s.base, 'GET', `/scim/v2/Users/${bystanderUser}`, bystander)).status).toBe(200)
    const rssAfter = s.rssKiB() ?? 0
    console.log(`[abuse] server RSS ${Math.round(rssBefore / 1024)} MiB before the barrage, ${Math.round(rssAfter / 1024)} MiB after`)
    expect(rssAfter - rssBefore).toBeLessThan(200 * 1024)
  })
})
