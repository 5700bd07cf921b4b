// The OpenAPI document of /api/v1 (src/http/api/schemas.ts, plugin.ts) and the typed client made
// from it (src/client): every route Fastify registers under /api/v1 is in the served document with
// a 2xx response schema, the committed docs/openapi.json and src/client/api-types.ts are what
// `npm run openapi` writes today, the client works against a listening server with the compiler
// checking its answers, and the reference page is served without an API key.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, RouteOptions } from 'fastify'
import type { ApiError, ApiGroup, ApiUser, Event, EventPage, MemberPage, RosterClient, UserPage, WebhookEndpointCreated } from 'roster/client'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { DOCUMENT_FILE, TYPES_FILE, documentText, typesText } from '../../scripts/openapi.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening, typedClient } from '../helpers/typed-client.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const REGENERATE = 'run `npm run openapi` and commit docs/openapi.json and src/client/api-types.ts'
/** Operations that take neither an API key nor a session: the document, signing in and the console's one-time links. */
const PUBLIC = new Set(['/api/v1/openapi.json', '/api/v1/console/sign-in', '/api/v1/console/password-reset', '/api/v1/console/links/redeem'])
/** The reference page and its assets: HTML and scripts, not part of the document. */
const PAGE = /^\/api\/v1\/reference(\/|$)/

interface Operation {
  readonly operationId?: string
  readonly summary?: string
  readonly description?: string
  readonly tags?: readonly string[]
  readonly security?: readonly Record<string, readonly string[]>[]
  readonly responses?: Record<string, { readonly content?: Record<string, { readonly schema?: unknown }> }>
}
interface Document {
  readonly openapi: string
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly securitySchemes?: Record<string, { readonly type: string; readonly scheme?: string }>; readonly schemas: Record<string, unknown> }
}

function isDocument(v: unknown): v is Document {
  return typeof v === 'object' && v !== null && 'paths' in v && 'components' in v && 'openapi' in v
}

describe.each(storeMatrix().slice(0, 1))('OpenAPI document and typed client on $name', (factory) => {
  let t: TestApp
  /** Every route the app registered, seen through Fastify's initialization channel. */
  const routes: RouteOptions[] = []
  /** The shared schemas each route's context holds (a plugin's own, for the /api/v1 routes). */
  const schemasOf = new Map<RouteOptions, Record<string, unknown>>()
  let base = ''
  let doc: Document
  let docText = ''

  beforeAll(async () => {
    const onInit = (message: unknown) => {
      const { fastify } = message as { fastify: FastifyInstance }
      fastify.addHook('onRoute', function (this: FastifyInstance, r) {
        routes.push(r)
        schemasOf.set(r, this.getSchemas())
      })
    }
    subscribe('fastify.initialization', onInit)
    try {
      t = await startApp(factory)
    } finally {
      unsubscribe('fastify.initialization', onInit)
    }
    base = await listening(t)
    const r = await fetch(`${base}/api/v1/openapi.json`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    docText = await r.text()
    const parsed: unknown = JSON.parse(docText)
    if (!isDocument(parsed)) throw new Error(`not an OpenAPI document: ${docText.slice(0, 200)}`)
    doc = parsed
  })
  afterAll(async () => t.close())

  it('is OpenAPI 3.1 with the bearer API key scheme, and lists exactly the /api/v1 routes Fastify registered, each with a summary, a tag and a 2xx response schema', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes?.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' })
    const api = routes.filter((r) => r.url.startsWith('/api/v1/') && !PAGE.test(r.url))
    const methods = (r: RouteOptions) => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD')
    const registered = api.flatMap((r) => methods(r).map((m) => `${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`)).sort()
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort()
    expect(registered.length).toBeGreaterThanOrEqual(21)
    expect(documented, `the document and the routes differ: ${REGENERATE} after giving the route a schema (src/http/api/schemas.ts)`).toEqual(registered)
    // SCIM and /healthz are not in it.
    expect(routes.some((r) => r.url.startsWith('/scim/v2'))).toBe(true)
    expect(documented.filter((d) => !d.includes(' /api/v1/'))).toEqual([])

    for (const r of api) {
      for (const m of methods(r)) {
        const where = `${m} ${r.url}`
        // The route's own schema: what Fastify validates and serializes with.
        const response = (r.schema?.response ?? {}) as Record<string, unknown>
        const ok = Object.keys(response).filter((code) => /^2\d\d$/.test(code))
        expect(ok.length, `${where} has no 2xx response schema`).toBeGreaterThan(0)
        const op = doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[m.toLowerCase()]
        expect(op?.operationId, where).toMatch(/^[a-z][A-Za-z]+$/)
        expect(op?.summary, where).toBeTruthy()
        expect(op?.description, where).toBeTruthy()
        expect(op?.tags?.length, where).toBe(1)
        for (const code of ok) {
          const documentedResponse = op?.responses?.[code]
          expect(documentedResponse, `${where} ${code}`).toBeDefined()
          if (code !== '204') expect(documentedResponse?.content?.['application/json']?.schema, `${where} ${code}`).toBeDefined()
        }
        // Every operation but the public ones needs an API key with a scope, or (the console's
        // own) a console session; a key's scoped operations also take a session.
        if (PUBLIC.has(r.url)) {
          expect(op?.security, where).toEqual([])
        } else if (op?.security?.[0]?.consoleSession) {
          expect(op.security, where).toEqual([{ consoleSession: [] }])
        } else {
          expect(op?.security?.[0]?.apiKey?.length, where).toBe(1)
          expect(op?.security?.at(-1), where).toEqual({ consoleSession: [] })
        }
        for (const code of ['400', '401', '404']) {
          if (!PUBLIC.has(r.url)) expect(op?.responses?.[code]?.content?.['application/json']?.schema, `${where} ${code}`).toEqual({ $ref: '#/components/schemas/ApiError' })
        }
        for (const code of ['400', '503']) {
          expect(r.url.endsWith('/openapi.json') || op?.responses?.[code] !== undefined, `${where} ${code}`).toBe(true)
        }
      }
    }
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('every response schema of every route builds into a serializer (the app builds them on first use: src/http/lazy-serializers.ts)', () => {
    let built = 0
    for (const r of routes) {
      const build = SerializerSelector()(schemasOf.get(r) ?? {}, {})
      const responses = (r.schema as { response?: Record<string, unknown> } | undefined)?.response ?? {}
      for (const [httpStatus, schema] of Object.entries(responses)) {
        expect(() => build({ schema, method: String(r.method), url: r.url, httpStatus } as Parameters<typeof build>[0]), `${String(r.method)} ${r.url} ${httpStatus}`).not.toThrow()
        built++
      }
    }
    expect(built).toBeGreaterThan(50)
  })

  it('equals the committed docs/openapi.json, and the committed client types are what openapi-typescript makes of it', async () => {
    const committed = readFileSync(DOCUMENT_FILE, 'utf8')
    expect(committed === documentText(JSON.parse(docText)), `docs/openapi.json is not the document the routes make: ${REGENERATE}`).toBe(true)
    const types = await typesText(JSON.parse(committed))
    expect(readFileSync(TYPES_FILE, 'utf8') === types, `src/client/api-types.ts is not generated from docs/openapi.json: ${REGENERATE}`).toBe(true)
  })

  it('the typed client, with an organization key, lists users, gets one by id, pages a group\'s members, reads the feed and adds a webhook', async () => {
    const org = await t.newOrg(`client-${Math.random().toString(36).slice(2)}`)
    const key = (await createApiKey(t.deps, { name: 'app', orgId: org.orgId, scopes: ['directory:read', 'events:read', 'webhooks:manage'], expiresAt: null })).key
    const roster: RosterClient = await typedClient(t, key)
    const ids: string[] = []
    /** Each user's display name by id. */
    const names = new Map<string, string>()
    for (const n of ['ada', 'grace', 'edsger']) {
      const r = await t.req('POST', '/Users', user(`${n}@example.com`, { displayName: n, title: 'Engineer' }), { token: org.token })
      expect(r.status).toBe(201)
      ids.push(String(r.json.id))
      names.set(String(r.json.id), n)
    }
    const inIdOrder = ids.slice().sort()
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering', members: ids.map((value) => ({ value })) }, { token: org.token })
    expect(g.status).toBe(201)
    const groupId = String(g.json.id)
    const path = { org: org.orgId }

    const users = await roster.GET('/api/v1/orgs/{org}/users', { params: { path, query: { limit: 2 } } })
    expectTypeOf(users.data).toEqualTypeOf<UserPage | undefined>()
    // openapi-fetch maps the error type: the same shape (assignable both ways), not an identical type.
    expectTypeOf(users.error).not.toBeAny()
    expectTypeOf(users.error).toExtend<ApiError | undefined>()
    expectTypeOf<ApiError | undefined>().toExtend<typeof users.error>()
    expect(users.response.status).toBe(200)
    const first = users.data?.data ?? []
    expect(first.map((u) => u.userName)).toEqual(inIdOrder.slice(0, 2).map((id) => `${names.get(id) ?? ''}@example.com`))
    expect(typeof users.data?.nextCursor).toBe('string')
    const rest = await roster.GET('/api/v1/orgs/{org}/users', { params: { path, query: { limit: 2, cursor: users.data?.nextCursor ?? undefined } } })
    expect([...first, ...(rest.data?.data ?? [])].map((u) => u.id)).toEqual(inIdOrder)
    expect(rest.data?.nextCursor).toBeNull()

    const one = await roster.GET('/api/v1/orgs/{org}/users/{id}', { params: { path: { ...path, id: ids[1] ?? '' } } })
    expectTypeOf(one.data).toEqualTypeOf<ApiUser | undefined>()
    const grace: ApiUser | undefined = one.data
    expect(grace).toMatchObject({ id: ids[1], userName: 'grace@example.com', email: 'grace@example.com', displayName: 'grace', title: 'Engineer', active: true, state: 'pending', version: 1 })
    expect(grace?.emails).toEqual([{ value: 'grace@example.com', type: 'work', primary: true }])
    expect(one.response.headers.get('etag')).toBe('W/"1"')
    const cached = await roster.GET('/api/v1/orgs/{org}/users/{id}', { params: { path: { ...path, id: ids[1] ?? '' }, header: { 'if-none-match': 'W/"1"' } } })
    expect(cached.response.status).toBe(304)
    expect(cached.data).toBeUndefined()
    const missing = await roster.GET('/api/v1/orgs/{org}/users/{id}', { params: { path: { ...path, id: '00000000-0000-7000-8000-000000000000' } } })
    expect(missing.response.status).toBe(404)
    expect(missing.error?.error).toBe('not_found')

    const group = await roster.GET('/api/v1/orgs/{org}/groups/{id}', { params: { path: { ...path, id: groupId } } })
    expectTypeOf(group.data).toEqualTypeOf<ApiGroup | undefined>()
    expect(group.data?.memberCount).toBe(3)
    const members: MemberPage['data'] = []
    let cursor: string | undefined
    for (let pages = 0; pages < 10; pages++) {
      const page = await roster.GET('/api/v1/orgs/{org}/groups/{id}/members', { params: { path: { ...path, id: groupId }, query: { limit: 2, cursor } } })
      expectTypeOf(page.data).toEqualTypeOf<MemberPage | undefined>()
      members.push(...(page.data?.data ?? []))
      cursor = page.data?.nextCursor ?? undefined
      if (cursor === undefined) break
    }
    expect(members).toEqual(inIdOrder.map((id) => ({ id, type: 'user', display: names.get(id) })))

    const feed = await roster.GET('/api/v1/orgs/{org}/events', { params: { path, query: { limit: 10, types: 'user.created,group.created' } } })
    expectTypeOf(feed.data).not.toBeAny()
    expectTypeOf(feed.data).toExtend<EventPage | undefined>()
    expectTypeOf<EventPage | undefined>().toExtend<typeof feed.data>()
    const events: Event[] = feed.data?.data ?? []
    expect(events.map((e) => e.type)).toEqual(['user.created', 'user.created', 'user.created', 'group.created'])
    expect(events.map((e) => e.data.orgId)).toEqual([org.orgId, org.orgId, org.orgId, org.orgId])
    expect(typeof feed.data?.nextCursor).toBe('string')
    const after = await roster.GET('/api/v1/orgs/{org}/events', { params: { path, query: { after: feed.data?.nextCursor, types: 'user.created,group.created' } } })
    expect(after.data?.data).toEqual([])

    const added = await roster.POST('/api/v1/orgs/{org}/webhooks', { params: { path }, body: { url: 'https://hooks.example.com/roster', eventTypes: ['user.created', 'user.deleted'], description: 'the app' } })
    expectTypeOf(added.data).toEqualTypeOf<WebhookEndpointCreated | undefined>()
    expect(added.response.status).toBe(201)
    expect(added.data).toMatchObject({ url: 'https://hooks.example.com/roster', eventTypes: ['user.created', 'user.deleted'], description: 'the app', enabled: true, failingSince: null })
    expect(added.data?.secret).toMatch(/^whsec_/)
    const listed = await roster.GET('/api/v1/orgs/{org}/webhooks', { params: { path } })
    expect(listed.data?.data.map((w) => w.id)).toEqual([added.data?.id])
    expect(JSON.stringify(listed.data)).not.toContain('whsec_')
    const refused = await roster.POST('/api/v1/orgs/{org}/webhooks', { params: { path }, body: { url: 'ftp://example.com/x' } })
    expect(refused.response.status).toBe(400)
    expect(refused.error?.error).toBe('invalid_parameter')

    // The key is of this organization only: another's is a 404, a scope it lacks a 403.
    expect((await roster.GET('/api/v1/orgs/{org}/users', { params: { path: { org: t.orgId } } })).error?.error).toBe('not_found')
    expect((await roster.GET('/api/v1/orgs/{org}/provisioning-log', { params: { path } })).error?.error).toBe('insufficient_scope')
  })

  it('a bad parameter is a 400 invalid_parameter naming it, also where the schema refuses it', async () => {
    const key = (await createApiKey(t.deps, { name: 'bad', orgId: null, scopes: ['*'], expiresAt: null })).key
    const get = async (path: string) => {
      const r = await fetch(`${base}/api/v1/orgs/${t.orgId}${path}`, { headers: { authorization: `Bearer ${key}` } })
      return { status: r.status, json: (await r.json()) as { error: string; message: string } }
    }
    const cases: [string, string][] = [
      ['/users?limit=0', 'limit'], ['/users?limit=2&limit=3', 'limit'], ['/users?cursor=a&cursor=b', 'cursor'], ['/events?wait=-1', 'wait'],
      ['/provisioning-log?limit=1001', 'limit'], ['/webhooks/x/attempts?limit=x', 'limit'],
    ]
    for (const [path, name] of cases) {
      const r = await get(path)
      expect(r.status, path).toBe(400)
      expect(r.json.error, path).toBe('invalid_parameter')
      expect(r.json.message.startsWith(`${name}: `), `${path}: ${r.json.message}`).toBe(true)
    }
    // An empty parameter is an absent one.
    expect((await get('/users?limit=&cursor=&filter=')).status).toBe(200)
    const post = async (body: string) => {
      const r = await fetch(`${base}/api/v1/orgs/${t.orgId}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body })
      return { status: r.status, json: (await r.json()) as { error: string; message: string } }
    }
    expect(await post('{}')).toEqual({ status: 400, json: { error: 'invalid_parameter', message: 'url: is required' } })
    expect(await post('[]')).toEqual({ status: 400, json: { error: 'invalid_parameter', message: 'The body must be a JSON object' } })
    const types = await post(JSON.stringify({ url: 'https://hooks.example.com/x', eventTypes: ['user.exploded'] }))
    expect(types.status).toBe(400)
    expect(types.json.message).toMatch(/^eventTypes: must be one of user\.created, .* \(got "user\.exploded"\)$/)
  })

  it('serves the document and the reference page without an API key, and nothing else', async () => {
    const page = await fetch(`${base}/api/v1/reference`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('<title>Roster API reference</title>')
    // Its assets come from this server (no network needed), under the same path.
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(scripts.length).toBeGreaterThan(0)
    for (const src of scripts) {
      expect(src.startsWith('/api/v1/reference/'), src).toBe(true)
      const asset = await fetch(`${base}${src}`)
      expect(asset.status, src).toBe(200)
      expect(asset.headers.get('content-type'), src).toMatch(/javascript/)
      await asset.arrayBuffer()
    }
    const json = await fetch(`${base}/api/v1/reference/json`)
    expect(json.status).toBe(200)
    expect(await json.json()).toEqual(JSON.parse(docText))
    expect((await fetch(`${base}/api/v1/openapi.json`)).status).toBe(200)
    // Everything else still needs a key.
    for (const path of [`/api/v1/orgs/${t.orgId}/users`, '/api/v1/orgs', '/api/v1/referencex', '/api/v1/openapi.yaml']) {
      const r = await fetch(`${base}${path}`)
      expect(r.status, path).toBe(401)
      expect(((await r.json()) as { error: string }).error).toBe('unauthorized')
    }
  })
})
