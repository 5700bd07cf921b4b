// A SCIM token refreshed while clients keep using the old one, and two organizations probing each
// other, on two Roster processes sharing one PostgreSQL database and on one process with a SQLite
// file (docs/architecture.md, the reliability catalogue's AUTH-2 and TEN-5; RFC 7644 §7.4: a
// revoked bearer token is refused).
//
// Eight clients, spread over the servers, send GETs and POSTs with organization A's token without pause;
// the refresh is made by a third process (`roster token refresh`). A request sent after that
// process exited (the refresh committed before it exits) must be refused with 401 on either
// server, and none of the creates sent then may exist; the new token works on its first request
// on each. Organization B's token, on the other server where there are two, reads and writes A's ids and
// names: 404 or an empty list every time, and A's data unchanged.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { BIN, call, serverEnv, startServer, type Call, type Server } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const adminUrl = process.env.TEST_DATABASE_URL
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const CLIENTS = 8
/** How long the clients keep going after the refresh committed. */
const AFTER_MS = 1_500

interface Sent {
  readonly server: number
  readonly method: string
  readonly userName: string | null
  readonly sentAt: number
  readonly status: number
}

interface Setup {
  readonly name: string
  readonly skip: boolean
  /** The servers' database URL, and how to remove it afterwards. */
  open(): Promise<{ url: string; servers: number; drop(): Promise<void> }>
}

const setups: Setup[] = [
  {
    name: 'two servers sharing PostgreSQL',
    skip: !adminUrl,
    async open() {
      const db = await createTestDatabase(adminUrl as string, 'roster_refresh')
      return { url: db.url, servers: 2, drop: db.drop }
    },
  },
  {
    // The refreshing CLI is a second process on the server's SQLite file.
    name: 'one server on a SQLite file',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'roster-refresh-'))
      return { url: `sqlite:${join(dir, 'roster.db')}`, servers: 1, drop: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
]

describe.each(setups)('a token refresh under load, and two organizations, on $name', (setup) => {
  let env: NodeJS.ProcessEnv = {}
  const servers: Server[] = []
  let drop = async () => {}
  const scim = (i: number) => `${servers[i % servers.length]?.base ?? ''}/scim/v2`

  const org = async (name: string) => (JSON.parse((await run(process.execPath, [BIN, 'org', 'create', name, '--json'], { env })).stdout) as { token: string }).token

  beforeAll(async () => {
    if (setup.skip) return
    const db = await setup.open()
    drop = db.drop
    env = serverEnv(db.url)
    servers.push(...await Promise.all(Array.from({ length: db.servers }, () => startServer(db.url))))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')))
    await drop()
  })

  it.skipIf(setup.skip)('no request sent after the refresh committed is accepted with the old token, on any server; the new token works at once on each', async () => {
    const old = await org('refresh-a')
    const sent: Sent[] = []
    let stop = false
    let n = 0
    const client = async (c: number) => {
      while (!stop) {
        const write = n % 3 === 0
        const userName = write ? `load${n}@example.com` : null
        n++
        const sentAt = Date.now()
        const r = write
          ? await call(scim(c), 'POST', '/Users', old, { schemas: [USER], userName })
          : await call(scim(c), 'GET', '/Users?count=1', old)
        sent.push({ server: c % servers.length, method: write ? 'POST' : 'GET', userName, sentAt, status: r.status })
      }
    }
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c))
    // Let the clients get going, then refresh from a process of its own.
    await new Promise((r) => setTimeout(r, 500))
    const out = await run(process.execPath, [BIN, 'token', 'refresh', 'refresh-a', '--json'], { env })
    const committed = Date.now()
    const fresh = (JSON.parse(out.stdout) as { token: string }).token
    // The new token works on its first request, on either server, while the old one is still being sent.
    const first = await Promise.all(servers.map((_, i) => call(scim(i), 'GET', '/Users?count=1', fresh)))
    expect(first.map((r) => r.status)).toEqual(servers.map(() => 200))
    await new Promise((r) => setTimeout(r, AFTER_MS))
    stop = true
    await Promise.all(clients)

    const before = sent.filter((s) => s.sentAt < committed)
    const after = sent.filter((s) => s.sentAt > committed)
    console.log(`[refresh] ${before.length} requests before the refresh committed, ${after.length} after (${after.filter((s) => s.method === 'POST').length} creates)`)
    // The load was real on both sides of the refresh and on both servers.
    expect(before.filter((s) => s.status === 200 || s.status === 201).length).toBeGreaterThan(CLIENTS)
    expect(new Set(after.map((s) => s.server)).size).toBe(servers.length)
    expect(after.length).toBeGreaterThan(CLIENTS)
    expect(after.filter((s) => s.status !== 401).map((s) => `${s.method} on server ${s.server}: ${s.status}`)).toEqual([])
    expect(sent.every((s) => [200, 201, 401].includes(s.status))).toBe(true)

    // None of the creates sent after the refresh exists; every one answered 201 does.
    const names = async (token: string) => {
      const all: string[] = []
      for (let start = 1; ; start += 1000) {
        const page = await call(scim(0), 'GET', `/Users?count=1000&startIndex=${start}&attributes=userName`, token)
        expect(page.status).toBe(200)
        const got = (page.json.Resources ?? []).map((r) => String(r.userName))
        all.push(...got)
        if (got.length < 1000) return new Set(all)
      }
    }
    const stored = await names(fresh)
    for (const s of after) if (s.userName !== null) expect(stored.has(s.userName), s.userName).toBe(false)
    const acknowledged = sent.filter((s) => s.status === 201).map((s) => s.userName ?? '')
    expect(acknowledged.filter((u) => !stored.has(u))).toEqual([])
  }, 60_000)

  it.skipIf(setup.skip)('one organization\'s token reads and writes nothing of another organization, on either server', async () => {
    const a = await org('probe-a')
    const b = await org('probe-b')
    const user = await call(scim(0), 'POST', '/Users', a, { schemas: [USER], userName: 'secret@a.example', active: true, name: { familyName: 'Kept' } })
    const group = await call(scim(0), 'POST', '/Groups', a, { schemas: [GROUP], displayName: 'A team', members: [{ value: String(user.json.id) }] })
    const bUser = await call(scim(1), 'POST', '/Users', b, { schemas: [USER], userName: 'mine@b.example' })
    expect([user.status, group.status, bUser.status]).toEqual([201, 201, 201])
    const uid = String(user.json.id)
    const gid = String(group.json.id)

    // Organization B, on the other server, with A's ids and names.
    const probes: [string, string, unknown?][] = [
      ['GET', `/Users/${uid}`], ['GET', `/Groups/${gid}`],
      ['PUT', `/Users/${uid}`, { schemas: [USER], userName: 'taken@b.example' }],
      ['PATCH', `/Users/${uid}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }],
      ['PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: String(bUser.json.id) }] }] }],
      ['DELETE', `/Users/${uid}`], ['DELETE', `/Groups/${gid}`],
    ]
    for (let round = 0; round < 5; round++) {
      const answers: Call[] = await Promise.all(probes.map(([method, path, body]) => call(scim(1 + round), method, path, b, body)))
      expect(answers.map((r) => r.status), `round ${round}`).toEqual(probes.map(() => 404))
      const lists = await Promise.all([
        call(scim(1 + round), 'GET', `/Users?filter=${encodeURIComponent('userName eq "secret@a.example"')}`, b),
        call(scim(1 + round), 'GET', `/Groups?filter=${encodeURIComponent('displayName eq "A team"')}`, b),
        call(scim(1 + round), 'GET', '/Users?count=100', b),
      ])
      expect(lists.map((r) => r.json.totalResults)).toEqual([0, 0, 1])
      // B's own user added to A's group by id is refused: the id is not a user of A's organization
      // as B sees it, nor A's group of B's.
      const cross = await call(scim(round), 'PATCH', `/Groups/${gid}`, a, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: String(bUser.json.id) }] }] })
      expect(cross.status).toBe(400)
    }

    // A's data as it was, on both servers.
    for (const i of servers.map((_, k) => k)) {
      const u = await call(scim(i), 'GET', `/Users/${uid}`, a)
      expect(u.json).toMatchObject({ userName: 'secret@a.example', name: { familyName: 'Kept' } })
      expect(u.json.active).toBe(true)
      const g = await call(scim(i), 'GET', `/Groups/${gid}`, a)
      expect(g.json.members).toEqual([expect.objectContaining({ value: uid })])
    }
  }, 60_000)
})
