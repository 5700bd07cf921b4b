// Slow clients (Slowloris) through a real server and real sockets: a request whose headers, or
// whose body, arrive a byte a second is cut off with an answer, while another organization is
// served. Transport-level, so on one store (SQLite). The server's request timeout is 2 s; Node
// enforces it only at its connection check (every 30 s by default: docs/reliability.md), so
// this file mostly waits.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { httpRequest, rawRequest } from './lib/raw.ts'
import { seedDatabase } from './lib/seed.ts'
import { call, startServer } from './lib/server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

describe('slow clients on sqlite', () => {
  it('a byte a second, in the headers or in the body, is cut off (408, or 503 at the request deadline) while others are served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-slow-'))
    const url = `sqlite:${join(dir, 'roster.db')}`
    const { tokens: [attacker = '', bystander = ''] } = await seedDatabase(url, ['attacker', 'bystander'], 0, String)
    const s = await startServer(url, { ROSTER_REQUEST_TIMEOUT_MS: '2000' })
    try {
      const req = httpRequest('POST', '/scim/v2/Users', { authorization: `Bearer ${attacker}`, 'content-type': 'application/scim+json' }, JSON.stringify({ schemas: [USER], userName: 'slow@attacker.example' }))
      const split = req.indexOf('\r\n\r\n') + 4
      const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]))
      const slow = Promise.all([
        rawRequest(s.port, bytes(req), { gapMs: 1_000, maxMs: 45_000 }),
        rawRequest(s.port, [req.subarray(0, split), ...bytes(req.subarray(split))], { gapMs: 1_000, maxMs: 45_000 }),
      ])
      for (let i = 0; i < 5; i++) {
        expect((await call(s.base, 'POST', '/scim/v2/Users', bystander, { schemas: [USER], userName: `calm${i}@bystander.example` })).status).toBe(201)
        await new Promise((r) => setTimeout(r, 1_000))
      }
      for (const a of await slow) {
        // Cut by the server, not left to hang until this test gives up (status 0): 408 while the
        // headers trickle in (Node's request timeout), or 503 with Retry-After once they are in and
        // the request's deadline passes (http/deadline.ts).
        expect([408, 503], a.head).toContain(a.status)
      }
      const calm = await call(s.base, 'GET', '/scim/v2/Users?filter=userName%20sw%20%22calm%22', bystander)
      expect(calm.json.totalResults).toBe(5)
      expect((await call(s.base, 'GET', '/scim/v2/Users?filter=userName%20eq%20%22slow@attacker.example%22', attacker)).json.totalResults).toBe(0)
    } finally {
      await s.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
