// Slow clients (Slowloris) through a real server and real sockets: a request whose headers, or
// whose body, arrive a byte every 200 ms is cut off with an answer within the configured bounds
// (ROSTER_HEADERS_TIMEOUT_MS, ROSTER_REQUEST_TIMEOUT_MS; http/app.ts has Node check them four
// times per headers timeout instead of every 30 s), while another organization is served; an
// idle keep-alive connection is closed after ROSTER_KEEP_ALIVE_TIMEOUT_MS. Transport-level, so
// on one store (SQLite).
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpRequest, rawRequest } from './lib/raw.ts'
import { seededSqliteServer } from './lib/seed.ts'
import { call, type Server } from '../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
// Sending either slow request whole would take over 40 s at a byte every 200 ms; the client
// gives up after GIVE_UP_MS (status 0). Node's own check (every 30 s) answered only after it.
const GIVE_UP_MS = 12_000
// The keep-alive timeout is set to 500 ms; Node's default, which the server used whatever the
// configuration, is 5 s.
const KEEP_ALIVE_GIVE_UP_MS = 4_000

describe('slow clients on sqlite', () => {
  let s: Server
  let close = async () => {}
  let attacker = ''
  let bystander = ''

  beforeAll(async () => {
    ;({ server: s, close, tokens: [attacker = '', bystander = ''] } = await seededSqliteServer('slow', ['attacker', 'bystander'],
      { ROSTER_REQUEST_TIMEOUT_MS: '3000', ROSTER_HEADERS_TIMEOUT_MS: '1000', ROSTER_KEEP_ALIVE_TIMEOUT_MS: '500' }))
  }, 60_000)

  afterAll(() => close())

  it('a byte every 200 ms, in the headers or in the body, is answered and cut off while others are served', async () => {
    const req = httpRequest('POST', '/scim/v2/Users', { authorization: `Bearer ${attacker}`, 'content-type': 'application/scim+json' }, JSON.stringify({ schemas: [USER], userName: `slow${'w'.repeat(200)}@attacker.example` }))
    const split = req.indexOf('\r\n\r\n') + 4
    const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]))
    const slow = Promise.all([
      rawRequest(s.port, bytes(req), { gapMs: 200, maxMs: GIVE_UP_MS }),
      rawRequest(s.port, [req.subarray(0, split), ...bytes(req.subarray(split))], { gapMs: 200, maxMs: GIVE_UP_MS }),
    ])
    for (let i = 0; i < 5; i++) {
      expect((await call(s.base, 'POST', '/scim/v2/Users', bystander, { schemas: [USER], userName: `calm${i}@bystander.example` })).status).toBe(201)
      await new Promise((r) => setTimeout(r, 200))
    }
    const [headers, body] = await slow
    // The headers: Node's 408 at the headers timeout (then the connection is closed).
    expect(headers?.status, headers?.head).toBe(408)
    // The body: 408 at the request timeout, or 503 with Retry-After at the request's deadline
    // (http/deadline.ts), whichever the server reaches first.
    expect([408, 503], body?.head).toContain(body?.status)
    const calm = await call(s.base, 'GET', '/scim/v2/Users?filter=userName%20sw%20%22calm%22', bystander)
    expect(calm.json.totalResults).toBe(5)
    expect((await call(s.base, 'GET', '/scim/v2/Users?filter=userName%20sw%20%22slow%22', attacker)).json.totalResults).toBe(0)
  }, 60_000)

  it('an idle keep-alive connection is closed by the server after the keep-alive timeout', async () => {
    const closedBy = await new Promise<'server' | 'client'>((resolve) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write(`GET /scim/v2/Users?count=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bystander}\r\n\r\n`)
      })
      const giveUp = setTimeout(() => {
        socket.destroy()
        resolve('client')
      }, KEEP_ALIVE_GIVE_UP_MS)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        clearTimeout(giveUp)
        resolve('server')
      })
      socket.resume()
    })
    expect(closedBy).toBe('server')
  }, 30_000)
})
