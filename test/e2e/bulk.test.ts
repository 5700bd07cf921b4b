// POST /Bulk (RFC 7644 §3.7) end to end on each store: bulkId references (in data and in paths,
// forward ones too), per-operation results, failOnErrors, circular references, the advertised
// limits enforced with 413, and one provisioning-log row per operation.
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { updateOrgSettings } from '../../src/provisioning/org-settings.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

interface Result { method: string; bulkId?: string; status: string; location?: string; version?: string; response?: { status: string; scimType?: string; detail: string } }
const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK], ...extra, Operations })
const resultsOf = (r: { json: Record<string, unknown> }) => r.json.Operations as Result[]

describe.each(storeMatrix())('/Bulk on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory, { maxBulkOperations: 50, maxBodyBytes: 64 * 1024 })
  })
  afterAll(async () => t.close())

  it('is advertised in /ServiceProviderConfig with its limits', async () => {
    const spc = await t.req('GET', '/ServiceProviderConfig')
    expect(spc.json.bulk).toEqual({ supported: true, maxOperations: 50, maxPayloadSize: 64 * 1024 })
  })

  it('creates a group with members created in the same request, by bulkId, in data and in paths, forward references too', async () => {
    const r = await t.req('POST', '/Bulk', bulk([
      // The group comes first and refers to users created after it.
      { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP], displayName: 'Bulk team', members: [{ value: 'bulkId:u1', type: 'User' }, { value: 'bulkId:u2' }] } },
      { method: 'POST', path: '/Users', bulkId: 'u1', data: user('bulk.one@example.com', { displayName: 'Bulk One' }) },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: user('bulk.two@example.com') },
      { method: 'PATCH', path: '/Users/bulkId:u2', data: patchOp({ op: 'replace', path: 'title', value: 'Second' }) },
      { method: 'POST', path: '/Groups', bulkId: 'g2', data: { schemas: [GROUP], displayName: 'Bulk parent', members: [{ value: 'bulkId:g1', type: 'Group' }] } },
    ]))
    expect(r.status, r.text).toBe(200)
    expect(r.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse'])
    const ops = resultsOf(r)
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([['POST', 'g1', '201'], ['POST', 'u1', '201'], ['POST', 'u2', '201'], ['PATCH', undefined, '200'], ['POST', 'g2', '201']])
    const id = (i: number) => String(ops[i]?.location?.split('/').pop())
    expect(ops[1]?.location).toBe(`https://roster.test/scim/v2/Users/${id(1)}`)
    expect(ops[1]?.version).toMatch(/^W\/"1/)
    const g = await t.req('GET', `/Groups/${id(0)}`)
    expect((g.json.members as { value: string; display: string }[]).map((m) => [m.value, m.display]).sort()).toEqual([[id(1), 'Bulk One'], [id(2), 'bulk.two@example.com']].sort())
    expect((await t.req('GET', `/Users/${id(2)}`)).json.title).toBe('Second')
    expect(((await t.req('GET', `/Groups/${id(4)}`)).json.members as { value: string }[]).map((m) => m.value)).toEqual([id(0)])
  })

  it('answers each operation with its own status and goes on after errors without failOnErrors', async () => {
    await t.req('POST', '/Users', user('bulk.taken@example.com'))
    const r = await t.req('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'a', data: user('bulk.taken@example.com') },
      { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] } },
      { method: 'POST', path: '/Users', bulkId: 'c', data: user('bulk.fine@example.com') },
      { method: 'DELETE', path: '/Users/no-such-user' },
      { method: 'GET', path: '/Users' },
      { method: 'POST', path: '/Groups', bulkId: 'd', data: { schemas: [GROUP], displayName: 'Needs a', members: [{ value: 'bulkId:a' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'e', data: { schemas: [GROUP], displayName: 'Needs nobody', members: [{ value: 'bulkId:nobody' }] } },
      { method: 'PUT', path: '/Users/bulkId:c', version: 'W/"1"', data: user('bulk.fine@example.com', { displayName: 'Fine' }) },
      { method: 'DELETE', path: '/Users/bulkId:c', version: 'W/"1"' },
    ]))
    expect(r.status, r.text).toBe(200)
    const ops = resultsOf(r)
    expect(ops.map((o) => [o.status, o.response?.scimType])).toEqual([
      ['409', 'uniqueness'], ['400', 'invalidValue'], ['201', undefined], ['404', undefined], ['400', 'invalidSyntax'],
      ['409', undefined], ['400', 'invalidValue'], ['200', undefined], ['412', undefined],
    ])
    expect(ops[5]?.response?.detail).toContain('"a"')
    expect(ops[0]?.response?.detail).toContain('bulk.taken@example.com')
    const c = String(ops[2]?.location?.split('/').pop())
    expect((await t.req('GET', `/Users/${c}`)).json.displayName).toBe('Fine')
    expect((await t.req('GET', `/Groups?filter=${encodeURIComponent('displayName sw "Needs"')}`)).json.totalResults).toBe(0)
  })

  it('failOnErrors stops at that many errors: later operations are neither run nor answered', async () => {
    const r = await t.req('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'f1', data: user('fail.one@example.com') },
      { method: 'POST', path: '/Users', bulkId: 'f2', data: user('fail.one@example.com') },
      { method: 'POST', path: '/Users', bulkId: 'f3', data: { userName: '' } },
      { method: 'POST', path: '/Users', bulkId: 'f4', data: user('fail.four@example.com') },
    ], { failOnErrors: 2 }))
    expect(r.status).toBe(200)
    expect(resultsOf(r).map((o) => [o.bulkId, o.status])).toEqual([['f1', '201'], ['f2', '409'], ['f3', '400']])
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent('userName eq "fail.four@example.com"')}`)).json.totalResults).toBe(0)
    expect((await t.req('POST', '/Bulk', bulk([], { failOnErrors: 0 }))).json.scimType).toBe('invalidValue')
  })

  it('resolves a circle of groups that are members of each other (RFC 7644 §3.7.1), and refuses what it cannot resolve with 409', async () => {
    const r = await t.req('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Groups', bulkId: 'x', data: { schemas: [GROUP], displayName: 'Circle X', members: [{ value: 'bulkId:y' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'y', data: { schemas: [GROUP], displayName: 'Circle Y', members: [{ value: 'bulkId:x' }, { value: 'bulkId:free' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'z', data: { schemas: [GROUP], displayName: 'Waits on the circle', members: [{ value: 'bulkId:x' }] } },
      { method: 'POST', path: '/Groups', bulkId: 's', data: { schemas: [GROUP], displayName: 'Itself', members: [{ value: 'bulkId:s' }] } },
      { method: 'POST', path: '/Users', bulkId: 'free', data: user('circle.free@example.com') },
      // Users managing each other: no order and no deferral resolves that.
      { method: 'POST', path: '/Users', bulkId: 'm1', data: user('circle.m1@example.com', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: 'bulkId:m2' } } }) },
      { method: 'POST', path: '/Users', bulkId: 'm2', data: user('circle.m2@example.com', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: 'bulkId:m1' } } }) },
    ]))
    const ops = resultsOf(r)
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([['x', '201'], ['y', '201'], ['z', '201'], ['s', '409'], ['free', '201'], ['m1', '409'], ['m2', '409']])
    expect(ops[5]?.response?.detail).toMatch(/circle/)
    const id = (i: number) => String(ops[i]?.location?.split('/').pop())
    const members = async (i: number) => (((await t.req('GET', `/Groups/${id(i)}`)).json.members ?? []) as { value: string }[]).map((m) => m.value).sort()
    expect(await members(0)).toEqual([id(1)])
    expect(await members(1)).toEqual([id(0), id(4)].sort())
    expect(await members(2)).toEqual([id(0)])
    // The version answered is the group's after its members were added.
    expect(ops[0]?.version).toBe((await t.req('GET', `/Groups/${id(0)}`)).headers.etag)
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent('userName sw "circle.m"')}`)).json.totalResults).toBe(0)
  })

  it('enforces maxOperations and maxPayloadSize with 413 tooMany, and a malformed request with 400', async () => {
    const many = await t.req('POST', '/Bulk', bulk(Array.from({ length: 51 }, (_, i) => ({ method: 'DELETE', path: `/Users/u${i}` }))))
    expect(many.status).toBe(413)
    expect(many.json).toMatchObject({ status: '413', scimType: 'tooMany' })
    expect(String(many.json.detail)).toContain('50')
    const big = await t.req('POST', '/Bulk', bulk([{ method: 'POST', path: '/Users', bulkId: 'big', data: user('big@example.com', { nickName: 'x'.repeat(70 * 1024) }) }]))
    expect(big.status).toBe(413)
    expect(big.json).toMatchObject({ status: '413', scimType: 'tooMany' })
    expect((await t.req('POST', '/Bulk', { Operations: [] })).json.scimType).toBe('invalidSyntax')
    expect((await t.req('POST', '/Bulk', bulk([{ method: 'POST', path: '/Users', bulkId: 'same', data: user('s1@example.com') }, { method: 'POST', path: '/Users', bulkId: 'same', data: user('s2@example.com') }]))).status).toBe(400)
    expect((await t.req('POST', '/Bulk', bulk([]), { token: null })).status).toBe(401)
  })

  it('writes a provisioning-log row per operation (the change in its transaction), and the events of each', async () => {
    const r = await t.req('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'l1', data: user('logged.one@example.com', { department: 'Ops', favouriteColour: 'red' }) },
      { method: 'POST', path: '/Users', bulkId: 'l2', data: user('logged.one@example.com') },
    ]), { headers: { 'user-agent': 'Microsoft Azure AD SCIM provisioning 1.0.0' } })
    const id = String(resultsOf(r)[0]?.location?.split('/').pop())
    await t.app.provisioningLog.flush()
    const rows = await t.store.listLog(t.orgId, { before: null, sinceId: null, status: null, statusClass: null, resourceId: null, limit: 200 })
    const envelope = rows.find((x) => x.path === '/scim/v2/Bulk' && x.notes?.includes('2 of 2 operations run, 1 failed'))
    expect(envelope).toMatchObject({ status: 200, method: 'POST' })
    // Each operation's row names the bulk request's row.
    const mine = rows.filter((x) => x.notes?.includes(`of a bulk request (${envelope?.id ?? '?'})`))
    expect(mine.map((x) => [x.method, x.path, x.status]).sort()).toEqual([['POST', '/scim/v2/Users', 201], ['POST', '/scim/v2/Users', 409]])
    const created = mine.find((x) => x.status === 201)
    expect(created).toMatchObject({ resourceId: id, identityProvider: 'entra' })
    expect(created?.changes).toContain('logged.one@example.com')
    expect(created?.notes).toContain('operation 1 of a bulk request')
    expect(created?.notes).toContain('top-level \\"department\\" read as')
    expect(created?.notes).toContain('favouriteColour')
    expect(mine.find((x) => x.status === 409)?.notes).toContain('operation 2 of a bulk request')
    // The user's own read and its custom attribute, as a single POST would have kept them.
    expect((await t.store.directoryUser(t.orgId, 'id', id))?.directory?.customAttributes).toEqual({ favouriteColour: 'red' })
  })

  it('applies the organization\'s policies to each operation, as to single requests (domains, invitations), and writes its events', async () => {
    const org = await t.newOrg(`bulk-policy-${Date.now()}`)
    await updateOrgSettings(t.deps, org.orgId, { domainAdd: ['policy.example'], settings: { sendInvitations: true } }, 'test', { sharedDomains: false })
    const r = await t.req('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'in', data: user('inside@policy.example') },
      { method: 'POST', path: '/Users', bulkId: 'out', data: user('outside@elsewhere.example') },
    ]), { token: org.token })
    expect(resultsOf(r).map((o) => [o.bulkId, o.status, o.response?.scimType])).toEqual([['in', '201', undefined], ['out', '400', 'invalidValue']])
    const id = String(resultsOf(r)[0]?.location?.split('/').pop())
    const u = await t.store.directoryUser(org.orgId, 'id', id)
    expect(u?.directory?.pending).toBe(true)
    // On PostgreSQL an event gets its feed position just after its commit (docs/events.md).
    const userEvents = async () => (await t.store.readEvents(org.orgId, 0, 50, null)).filter((e) => e.type.startsWith('user.')).map((e) => [e.type, e.resourceId])
    await eventually(async () => (await userEvents()).length > 0, 10_000, 'the user.created event')
    expect(await userEvents()).toEqual([['user.created', id]])
  })

  it('runs a long run of creates (submitted together) to the same result as one by one', async () => {
    const n = 40
    const r = await t.req('POST', '/Bulk', bulk(Array.from({ length: n }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `m${i}`, data: user(`many.${i}@example.com`) }))))
    expect(resultsOf(r).map((o) => o.status)).toEqual(Array.from({ length: n }, () => '201'))
    expect(new Set(resultsOf(r).map((o) => o.location)).size).toBe(n)
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent('userName sw "many."')}&count=0`)).json.totalResults).toBe(n)
  })
})

// The point of submitting creates together (docs/architecture.md, "Bulk"): on SQLite a run of
// creates shares the group committer's durable commits instead of one each. Counted as the
// COMMIT statements run on the data file (better-sqlite3's exec, in this process).
describe('/Bulk on sqlite: durable commits', () => {
  it('writes 300 creates of one Bulk in at most 2 commits (batches of 256), where one at a time would take 300', async () => {
    const sqlite = storeMatrix().find((f) => f.name === 'sqlite')
    if (!sqlite) throw new Error('no sqlite store')
    const t = await startApp(sqlite)
    // The token's first use is recorded in a commit of its own (the console's "last used", once a
    // minute): made before counting.
    expect((await t.req('GET', '/Users?count=0')).status).toBe(200)
    const proto = (Database as unknown as { prototype: { exec(this: unknown, sql: string): unknown } }).prototype
    const exec = proto.exec
    let commits = 0
    proto.exec = function (this: unknown, sql: string) {
      // The data file's writer only (the provisioning log of failures has a file of its own).
      if (sql === 'COMMIT' && (this as { name?: string }).name?.endsWith('roster.db')) commits++
      return exec.call(this, sql)
    }
    try {
      const r = await t.req('POST', '/Bulk', bulk(Array.from({ length: 300 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `c${i}`, data: user(`commit.${i}@example.com`) }))))
      expect(resultsOf(r).filter((o) => o.status === '201')).toHaveLength(300)
      expect(commits).toBeGreaterThan(0)
      expect(commits).toBeLessThanOrEqual(2)
      // With failOnErrors every operation runs alone: one commit each.
      commits = 0
      await t.req('POST', '/Bulk', bulk(Array.from({ length: 5 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `f${i}`, data: user(`alone.${i}@example.com`) })), { failOnErrors: 1 }))
      expect(commits).toBe(5)
    } finally {
      proto.exec = exec
      await t.close()
    }
  })
})
