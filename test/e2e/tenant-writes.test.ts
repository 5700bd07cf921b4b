// Writes that name another organization's values or ids, through a listening server on a SQLite
// file and on PostgreSQL (docs/architecture.md TEN-2, TEN-3). Uniqueness is per organization
// (RFC 7643 §2.4 "server" uniqueness, read per tenant as RFC 7644 §6 describes multi-tenancy;
// RFC 7644 §3.3 for the 409): A may create a userName, an email or an externalId
// that B holds, and B's user does not move; only a userName or a group name A already holds is a
// 409. A group of A never holds a member of B, whatever the
// PATCH shape (authentik advisory GHSA-9m7q-6qg6-888h: a group PATCH that reached another
// tenant's users).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { drainFeed } from '../helpers/feed-over-http.ts'
import { httpOrgs, type HttpOrg } from '../helpers/http-orgs.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const q = (f: string) => encodeURIComponent(f)

describe.each(storeMatrix())('writes naming another organization on $name', (factory) => {
  let t: TestApp
  let fresh: (name: string) => Promise<HttpOrg>
  beforeAll(async () => {
    t = await startApp(factory)
    fresh = (await httpOrgs(t)).fresh
  })
  afterAll(async () => t.close())

  /** Two fresh organizations, each with its SCIM calls and a reader of its feed. */
  const twoOrgs = async () => ({ a: await fresh('tenant-a'), b: await fresh('tenant-b') })

  it('A creates the userName, email, externalId and group name B holds: 201 each time, B unchanged; 409 only within one organization', async () => {
    const { a, b } = await twoOrgs()
    const theirs = await b.send('POST', '/Users', user('held.by.b@example.com', { externalId: 'ext-held-by-b', emails: [{ value: 'mail.of.b@example.com', type: 'work', primary: true }] }))
    expect(theirs.status).toBe(201)
    const bid = String(theirs.json.id)
    const theirGroup = await b.send('POST', '/Groups', { schemas: [GROUP], displayName: 'Held by B', members: [{ value: bid }] })
    expect(theirGroup.status).toBe(201)
    const beforeUser = await b.send('GET', `/Users/${bid}`)
    const beforeGroup = await b.send('GET', `/Groups/${String(theirGroup.json.id)}`)
    const beforeFeed = await drainFeed(b.feed)

    const attempts: [string, Record<string, unknown>][] = [
      ['the same userName in another case', user('HELD.BY.B@example.com')],
      ['the same email', user('other.name@example.com', { emails: [{ value: 'mail.of.b@example.com', type: 'work', primary: true }] })],
      ['the same externalId', user('third.name@example.com', { externalId: 'ext-held-by-b' })],
    ]
    const mine: string[] = []
    for (const [what, body] of attempts) {
      const r = await a.send('POST', '/Users', body)
      expect(r.status, `${what}: ${r.text}`).toBe(201)
      expect(r.json.id, what).not.toBe(bid)
      mine.push(String(r.json.id))
    }
    const group = await a.send('POST', '/Groups', { schemas: [GROUP], displayName: 'held by b' })
    expect(group.status, group.text).toBe(201)

    // B's user and group are exactly as they were, and B's feed has nothing new.
    expect((await b.send('GET', `/Users/${bid}`)).json).toEqual(beforeUser.json)
    expect((await b.send('GET', `/Groups/${String(theirGroup.json.id)}`)).json).toEqual(beforeGroup.json)
    expect(beforeFeed.map((e) => e.type)).toEqual(['user.created', 'group.created', 'group.member_added'])
    expect(await drainFeed(b.feed)).toEqual([])
    // Each organization finds its own user by each value, and only it.
    const finds = async (o: typeof a, filter: string) => (await o.send('GET', `/Users?filter=${q(filter)}`)).json.Resources?.map((r) => r.id)
    for (const [o, byName, byEmail, byExternal] of [[a, mine[0], mine[1], mine[2]], [b, bid, bid, bid]] as const) {
      expect(await finds(o, 'userName eq "held.by.b@example.com"')).toEqual([byName])
      expect(await finds(o, 'emails.value eq "mail.of.b@example.com"')).toEqual([byEmail])
      expect(await finds(o, 'externalId eq "ext-held-by-b"')).toEqual([byExternal])
    }

    // A duplicate within A is the conflict: 409 uniqueness, nothing written.
    for (const [what, r] of [
      ['userName', await a.send('POST', '/Users', user('Held.By.B@EXAMPLE.com'))],
      ['group displayName', await a.send('POST', '/Groups', { schemas: [GROUP], displayName: 'HELD BY B' })],
    ] as const) {
      expect(r.status, `${what}: ${r.text}`).toBe(409)
      expect(r.json.scimType, what).toBe('uniqueness')
    }
    // externalId is the client's identifier, declared without uniqueness (RFC 7643 §3.1; the
    // served schema): a second one within A is accepted too.
    const schema = await a.send('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')
    expect((schema.json.attributes as { name: string; uniqueness: string }[]).find((x) => x.name === 'externalId')?.uniqueness).toBe('none')
    expect((await a.send('POST', '/Users', user('fourth.name@example.com', { externalId: 'ext-held-by-b' }))).status).toBe(201)
    expect((await a.send('GET', '/Users?count=100')).json.totalResults).toBe(4)
    expect((await a.send('GET', '/Groups?count=100')).json.totalResults).toBe(1)
  })

  it('A\'s group PATCHed, PUT or created with B\'s user as a member: 400 invalidValue, no membership crossing organizations, no event', async () => {
    const { a, b } = await twoOrgs()
    const foreign = await b.send('POST', '/Users', user('foreign.member@example.com'))
    const bid = String(foreign.json.id)
    const foreignGroup = await b.send('POST', '/Groups', { schemas: [GROUP], displayName: 'Foreign group' })
    const bgid = String(foreignGroup.json.id)
    const own = await a.send('POST', '/Users', user('own.member@example.com'))
    const other = await a.send('POST', '/Users', user('other.member@example.com'))
    const aid = String(own.json.id)
    const a2 = String(other.json.id)
    const g = await a.send('POST', '/Groups', { schemas: [GROUP], displayName: 'Own group', members: [{ value: aid }] })
    const gid = String(g.json.id)
    const beforeGroup = await a.send('GET', `/Groups/${gid}`)
    const beforeForeign = await b.send('GET', `/Users/${bid}`)
    await drainFeed(a.feed)
    await drainFeed(b.feed)

    const refused: [string, string, string, unknown][] = []
    for (const [what, foreignId] of [['B\'s user', bid], ['B\'s group', bgid]]) {
      const refs = [{ value: a2 }, { value: foreignId }]
      refused.push(
        [`add ${what}`, 'PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: refs })],
        [`add ${what} without a path`, 'PATCH', `/Groups/${gid}`, patchOp({ op: 'add', value: { members: refs } })],
        [`replace members with ${what}`, 'PATCH', `/Groups/${gid}`, patchOp({ op: 'replace', path: 'members', value: refs })],
        [`replace without a path, members holding ${what}`, 'PATCH', `/Groups/${gid}`, patchOp({ op: 'replace', value: { members: refs } })],
        [`PUT with ${what}`, 'PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'Own group', members: refs }],
        [`POST a group with ${what}`, 'POST', '/Groups', { schemas: [GROUP], displayName: `New with ${what}`, members: refs }],
      )
    }
    for (const [what, method, path, body] of refused) {
      const r = await a.send(method, path, body)
      expect(r.status, `${what}: ${r.text}`).toBe(400)
      expect(r.json.scimType, what).toBe('invalidValue')
    }
    // A filtered remove of a member the group does not hold removes nothing: the members filter
    // names the rows to delete (src/scim/patch/members.ts), and there is none.
    const remove = await a.send('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${bid}"]` }))
    expect(remove.status, remove.text).toBe(204)

    expect((await a.send('GET', `/Groups/${gid}`)).json).toEqual(beforeGroup.json)
    expect((await a.send('GET', '/Groups?count=100')).json.totalResults).toBe(1)
    expect((await a.send('GET', `/Groups?filter=${q(`members[value eq "${bid}"]`)}`)).json.totalResults).toBe(0)
    // B's user is in no group of A (nor any), and exactly as before.
    expect((await b.send('GET', `/Users/${bid}`)).json).toEqual(beforeForeign.json)
    expect(beforeForeign.json.groups).toBeUndefined()
    expect((await b.send('GET', `/Groups/${bgid}`)).json.members).toBeUndefined()
    // Neither feed has an event of any of it.
    expect(await drainFeed(a.feed)).toEqual([])
    expect(await drainFeed(b.feed)).toEqual([])
  })
})
