// BENCH SELF-TEST FIXTURE, not Roster: a tiny in-memory SCIM server with just enough of
// /Users and /Groups (filters `userName eq|sw`, the PATCH shapes bench/ sends) to exercise
// the benchmark client. Run: node --import tsx bench/fake-scim-server.ts [--port 8080 ...]
// (or PORT=...); base URL http://127.0.0.1:<port>/scim/v2, any bearer token. Each bearer token
// is its own tenant (for --orgs); every --port serves the same data (for several --base).
import { randomUUID } from 'node:crypto'
import http from 'node:http'

type Json = Record<string, unknown>
interface Group {
  id: string
  displayName: string
  members: Set<string>
}

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

interface Tenant {
  users: Map<string, Json>
  byUserName: Map<string, string>
  groups: Map<string, Group>
}
const tenants = new Map<string, Tenant>()
let users = new Map<string, Json>()
let byUserName = new Map<string, string>()
let groups = new Map<string, Group>()

/** Points the maps at the tenant of this bearer token (requests are handled one at a time). */
function useTenant(token: string): void {
  let t = tenants.get(token)
  if (t === undefined) {
    t = { users: new Map(), byUserName: new Map(), groups: new Map() }
    tenants.set(token, t)
  }
  ;({ users, byUserName, groups } = t)
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function handle(method: string, url: URL, body: Json): [number, unknown] {
  if (url.pathname === '/healthz') return [200, { ok: true }]
  const match = /\/(Users|Groups)(?:\/([^/]+))?$/.exec(url.pathname)
  if (match === null) throw new HttpError(404, `no route ${url.pathname}`)
  const [, kind, rawId] = match
  const id = rawId === undefined ? undefined : decodeURIComponent(rawId)
  if (kind === 'Users') {
    if (id === undefined && method === 'POST') return [201, createUser(body)]
    if (id === undefined && method === 'GET') return [200, listUsers(url.searchParams)]
    const user = users.get(id ?? '')
    if (user === undefined) throw new HttpError(404, `User ${id} not found`)
    if (method === 'GET') return [200, user]
    if (method === 'PATCH') return [200, patchUser(user, body)]
    if (method === 'DELETE') {
      users.delete(user.id as string)
      byUserName.delete(String(user.userName).toLowerCase())
      for (const g of groups.values()) g.members.delete(user.id as string)
      return [204, undefined]
    }
  } else {
    if (id === undefined && method === 'POST') {
      const g: Group = { id: randomUUID(), displayName: String(body.displayName), members: new Set() }
      groups.set(g.id, g)
      return [201, renderGroup(g)]
    }
    const g = groups.get(id ?? '')
    if (g === undefined) throw new HttpError(404, `Group ${id} not found`)
    if (method === 'GET') return [200, renderGroup(g)]
    if (method === 'PATCH') return [200, patchGroup(g, body)]
    if (method === 'DELETE') return [204, void groups.delete(g.id)]
  }
  throw new HttpError(405, `${method} not supported`)
}

function createUser(body: Json): Json {
  const key = String(body.userName).toLowerCase()
  if (byUserName.has(key)) throw new HttpError(409, `userName ${String(body.userName)} is taken`)
  const user: Json = { ...body, id: randomUUID(), meta: { resourceType: 'User', created: new Date().toISOString() } }
  users.set(user.id as string, user)
  byUserName.set(key, user.id as string)
  return user
}

function listUsers(params: URLSearchParams): Json {
  let matched: Json[]
  const filter = params.get('filter')
  if (filter === null) {
    matched = [...users.values()]
  } else {
    const m = /^userName\s+(eq|sw)\s+"(.*)"$/i.exec(filter.trim())
    if (m === null) throw new HttpError(400, `unsupported filter ${filter}`)
    const value = (m[2] ?? '').toLowerCase()
    if (m[1]?.toLowerCase() === 'eq') {
      const hit = users.get(byUserName.get(value) ?? '')
      matched = hit === undefined ? [] : [hit]
    } else {
      matched = [...users.values()].filter((u) => String(u.userName).toLowerCase().startsWith(value))
    }
  }
  const startIndex = Math.max(1, Number(params.get('startIndex') ?? 1))
  const count = Math.max(0, Number(params.get('count') ?? 100))
  const page = matched.slice(startIndex - 1, startIndex - 1 + count)
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: matched.length,
    startIndex,
    itemsPerPage: page.length,
    Resources: page,
  }
}

function operations(body: Json): { op: string; path?: string; value?: unknown }[] {
  const ops = body.Operations
  if (!Array.isArray(ops)) throw new HttpError(400, 'Operations must be an array')
  return ops.map((o: Json) => ({ op: String(o.op).toLowerCase(), path: o.path as string | undefined, value: o.value }))
}

function patchUser(user: Json, body: Json): Json {
  for (const { op, path, value } of operations(body)) {
    if (op !== 'add' && op !== 'replace') throw new HttpError(400, `unsupported user op ${op}`)
    if (path === undefined) {
      Object.assign(user, value)
    } else if (path.startsWith(`${ENTERPRISE}:`)) {
      user[ENTERPRISE] = { ...(user[ENTERPRISE] as Json), [path.slice(ENTERPRISE.length + 1)]: value }
    } else if (/^(\w+)\[type eq "(\w+)"\]\.(\w+)$/.test(path)) {
      const [, attr = '', type, sub = ''] = /^(\w+)\[type eq "(\w+)"\]\.(\w+)$/.exec(path) ?? []
      const list = (user[attr] ?? []) as Json[]
      const item = list.find((e) => e.type === type) ?? list[list.push({ type }) - 1]
      if (item !== undefined) item[sub] = value
      user[attr] = list
    } else if (path.includes('.')) {
      const [parent = '', child = ''] = path.split('.')
      user[parent] = { ...(user[parent] as Json), [child]: value }
    } else {
      user[path] = value
    }
  }
  return user
}

function patchGroup(g: Group, body: Json): Json {
  for (const { op, path, value } of operations(body)) {
    const values = Array.isArray(value) ? value.map((v: Json) => String(v.value)) : []
    const one = /^members\[value eq "(.+)"\]$/.exec(path ?? '')
    if (op === 'add' && path === 'members') for (const v of values) g.members.add(v)
    else if (op === 'remove' && path === 'members') for (const v of values) g.members.delete(v)
    else if (op === 'remove' && one !== null) g.members.delete(one[1] ?? '')
    else if (op === 'replace' && path === 'displayName') g.displayName = String(value)
    else throw new HttpError(400, `unsupported group op ${op} ${path ?? ''}`)
  }
  return renderGroup(g)
}

function renderGroup(g: Group): Json {
  return { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: g.id, displayName: g.displayName, members: [...g.members].map((value) => ({ value })) }
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    let status: number
    let payload: unknown
    try {
      const url = new URL(req.url ?? '/', 'http://fake')
      if (url.pathname !== '/healthz' && !/^Bearer \S+/.test(req.headers.authorization ?? '')) throw new HttpError(401, 'bearer token required')
      useTenant(req.headers.authorization ?? '')
      const text = Buffer.concat(chunks).toString('utf8')
      ;[status, payload] = handle(req.method ?? 'GET', url, text === '' ? {} : (JSON.parse(text) as Json))
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500
      payload = { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail: String(err) }
    }
    const out = payload === undefined ? '' : JSON.stringify(payload)
    res.writeHead(status, { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(out) })
    res.end(out)
  })
})

const ports = process.argv.flatMap((a, i) => (a === '--port' ? [Number(process.argv[i + 1])] : []))
if (ports.length === 0) ports.push(Number(process.env.PORT ?? 8080))
server.keepAliveTimeout = 60_000
server.listen(ports[0], '127.0.0.1', () => console.log(`fake SCIM server (bench fixture) at http://127.0.0.1:${ports[0]}/scim/v2`))
for (const port of ports.slice(1)) {
  const more = http.createServer((req, res) => server.emit('request', req, res))
  more.keepAliveTimeout = 60_000
  more.listen(port, '127.0.0.1', () => console.log(`fake SCIM server (bench fixture) at http://127.0.0.1:${port}/scim/v2`))
}
