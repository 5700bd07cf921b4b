// Lists and searches: filters compiled to SQL, sorting, paging, projection, on a real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const q = (f: string) => encodeURIComponent(f)

describe.each(storeMatrix())('lists and filters on $name', (factory) => {
  let t: TestApp
  const ids = new Map<string, string>()
  const people = [
    { userName: 'alice@example.com', givenName: 'Alice', familyName: 'Zeta', title: 'CTO', dept: 'Eng', active: true, ext: 'A-1' },
    { userName: 'bob@example.com', givenName: 'Bob', familyName: 'Young', title: 'Engineer', dept: 'Eng', active: true, ext: 'B-2' },
    { userName: 'carol@example.org', givenName: 'Carol', familyName: 'Xu', title: 'Engineer', dept: 'Sales', active: false, ext: 'C-3' },
    { userName: 'dan%_\\@example.org', givenName: 'Dan', familyName: 'Wu', title: '100% Engineer', dept: 'Ops', active: true, ext: 'd-4' },
    { userName: 'ÉVE@example.com', givenName: 'Ève', familyName: 'Vance', title: 'Designer', dept: 'Design', active: true, ext: 'E-5' },
  ]
  beforeAll(async () => {
    t = await startApp(factory)
    for (const p of people) {
      const r = await t.req('POST', '/Users', {
        ...user(p.userName, { active: p.active, title: p.title, externalId: p.ext }),
        name: { givenName: p.givenName, familyName: p.familyName },
        emails: [{ value: p.userName.toLowerCase(), type: 'work', primary: true }, { value: `${p.givenName.toLowerCase()}@home.test`, type: 'home' }],
        [ENT]: { department: p.dept, employeeNumber: String(people.indexOf(p) + 1) },
      })
      expect(r.status).toBe(201)
      ids.set(p.userName, String(r.json.id))
    }
  })
  afterAll(async () => t.close())

  async function names(filter: string, extra = ''): Promise<string[]> {
    const r = await t.req('GET', `/Users?filter=${q(filter)}${extra}`)
    expect(r.status, `${filter}: ${r.text}`).toBe(200)
    return (r.json.Resources ?? []).map((u) => String(u.userName)).sort()
  }

  it.each([
    ['userName eq "ALICE@example.com"', ['alice@example.com']],
    ['userName ne "alice@example.com"', ['bob@example.com', 'carol@example.org', 'dan%_\\@example.org', 'ÉVE@example.com']],
    ['userName co "%"', ['dan%_\\@example.org']],
    ['userName sw "_"', []],
    ['userName co "_\\\\"', ['dan%_\\@example.org']],
    ['userName ew "@EXAMPLE.ORG"', ['carol@example.org', 'dan%_\\@example.org']],
    ['userName sw "éve"', ['ÉVE@example.com']],
    ['userName gt "c" and userName lt "d"', ['carol@example.org']],
    ['title pr and title eq "engineer"', ['bob@example.com', 'carol@example.org']],
    ['title co "100%"', ['dan%_\\@example.org']],
    ['name.familyName eq "xu" or name.givenName sw "ali"', ['alice@example.com', 'carol@example.org']],
    ['not (active eq true)', ['carol@example.org']],
    ['active eq false', ['carol@example.org']],
    ['emails[type eq "work" and value co "@example.org"]', ['carol@example.org', 'dan%_\\@example.org']],
    ['emails.value eq "BOB@home.test"', ['bob@example.com']],
    ['emails[type eq "home" and value sw "ali"]', ['alice@example.com']],
    ['emails[not (type eq "work") and value ew ".test"]', people.map((p) => p.userName).sort()],
    [`${ENT}:department eq "eng"`, ['alice@example.com', 'bob@example.com']],
    [`${ENT}:employeeNumber ge "4"`, ['dan%_\\@example.org', 'ÉVE@example.com']],
    ['urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Bob"', ['bob@example.com']],
    ['externalId eq "d-4"', ['dan%_\\@example.org']],
    ['externalId eq "D-4"', []],
    ['meta.created gt "2000-01-01T00:00:00Z" and meta.lastModified le "2999-01-01T00:00:00Z" and userName sw "b"', ['bob@example.com']],
    ['USERNAME EQ "bob@example.com"', ['bob@example.com']],
    ['nickName pr', []],
    ['(title eq "CTO" or title eq "Designer") and not (userName sw "a")', ['ÉVE@example.com']],
  ])('filter %s', async (filter, expected) => {
    expect(await names(filter)).toEqual([...expected].sort())
  })

  it('pages of one and two rows, in every order and under a filter, add up to the whole list', async () => {
    // Later pages take other paths than the first (PostgreSQL: ids from an index-only scan, then
    // the rows; SQLite: a continuation from the previous page's last row where it can).
    for (const query of ['', 'sortOrder=descending', 'sortBy=name.familyName', 'sortBy=title&sortOrder=descending', `filter=${q('title pr or userName sw "a"')}`, `filter=${q('userName ne "x"')}&sortBy=userName`]) {
      const whole = await t.req('GET', `/Users?${query}&count=100`)
      const all = (whole.json.Resources ?? []).map((u) => String(u.id))
      for (const size of [1, 2]) {
        const paged: string[] = []
        for (let start = 1; start <= all.length; start += size) {
          const r = await t.req('GET', `/Users?${query}&startIndex=${start}&count=${size}`)
          expect(r.json.totalResults).toBe(all.length)
          paged.push(...(r.json.Resources ?? []).map((u) => String(u.id)))
        }
        expect(paged, `${query} by ${size}`).toEqual(all)
      }
    }
  })

  it('the identity providers\' lookup (userName eq, however spelled) answers as any list: folded, paged, projected', async () => {
    // list-pager.ts answers exactly `userName eq "…"` with a fixed statement; it must agree
    // with the compiled filter path in every respect a client can see.
    const eve = ids.get('ÉVE@example.com')
    for (const f of ['userName eq "éve@EXAMPLE.com"', 'USERNAME eq "ÉVE@example.com"', 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "éve@example.com"']) {
      const r = await t.req('GET', `/Users?filter=${q(f)}`)
      expect(r.status, f).toBe(200)
      expect(r.json, f).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 })
      expect((r.json.Resources as { id: string }[]).map((u) => u.id), f).toEqual([eve])
    }
    const lookup = (extra: string) => t.req('GET', `/Users?filter=${q('userName eq "bob@example.com"')}${extra}`)
    expect((await lookup('&startIndex=2')).json).toMatchObject({ totalResults: 1, itemsPerPage: 0 })
    expect((await lookup('&startIndex=2')).json.Resources ?? []).toEqual([])
    expect((await lookup('&count=0')).json).toMatchObject({ totalResults: 1, itemsPerPage: 0 })
    const projected = (await lookup('&attributes=userName')).json.Resources as Record<string, unknown>[]
    expect(projected.map((u) => Object.keys(u).sort())).toEqual([['id', 'schemas', 'userName']])
    expect(projected[0]).toMatchObject({ id: ids.get('bob@example.com'), userName: 'bob@example.com' })
    expect((await t.req('GET', `/Users?filter=${q('userName eq "nobody@example.com"')}`)).json).toMatchObject({ totalResults: 0 })
    // Not the lookup: other operators, a sub-attribute, and a non-string value take the compiled path.
    expect(await names('userName eq "BOB@example.com" or userName eq "alice@example.com"')).toEqual(['alice@example.com', 'bob@example.com'])
    expect((await t.req('GET', `/Users?filter=${q('userName eq 5')}`)).json).toMatchObject({ status: '400', scimType: 'invalidFilter' })
    // POST /.search takes the same path.
    const s = await t.req('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "Carol@Example.org"' })
    expect((s.json.Resources as { id: string }[]).map((u) => u.id)).toEqual([ids.get('carol@example.org')])
  })

  it('totalResults counts every match while a page holds count of them; paging is stable', async () => {
    const seen: string[] = []
    for (let start = 1; start <= 5; start += 2) {
      const r = await t.req('GET', `/Users?startIndex=${start}&count=2&sortBy=name.familyName`)
      expect(r.json.totalResults).toBe(5)
      expect(r.json.startIndex).toBe(start)
      seen.push(...(r.json.Resources ?? []).map((u) => String((u.name as Record<string, unknown>).familyName)))
    }
    expect(seen).toEqual(['Vance', 'Wu', 'Xu', 'Young', 'Zeta'])
    const desc = await t.req('GET', '/Users?sortBy=userName&sortOrder=descending&count=1')
    expect((desc.json.Resources ?? [])[0]?.userName).toBe('ÉVE@example.com')
    const zero = await t.req('GET', '/Users?count=0')
    expect(zero.json).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] })
    const past = await t.req('GET', '/Users?startIndex=50')
    expect(past.json).toMatchObject({ totalResults: 5, itemsPerPage: 0 })
    const huge = await t.req('GET', '/Users?count=1000000000&startIndex=1000000000000')
    expect(huge.status).toBe(200)
    const badCount = await t.req('GET', '/Users?count=abc')
    expect(badCount.json.scimType).toBe('invalidValue')
  })

  it('a total counted again after a write includes it, and one counted twice without writes agrees', async () => {
    // count=1 keeps every page full, so each total is a COUNT(*), not the page's own length.
    const total = async () => (await t.req('GET', `/Users?filter=${q('userName sw "zz"')}&count=1`)).json.totalResults
    for (const n of [1, 2, 3]) await t.req('POST', '/Users', user(`zz${n}@example.com`))
    expect(await total()).toBe(3)
    expect(await total()).toBe(3)
    await t.req('POST', '/Users', user('zz4@example.com'))
    expect(await total()).toBe(4)
    for (const n of [1, 2]) {
      const found = await t.req('GET', `/Users?filter=${q(`userName eq "zz${n}@example.com"`)}`)
      await t.req('DELETE', `/Users/${String(found.json.Resources?.[0]?.id)}`)
      expect(await total()).toBe(4 - n)
    }
    for (const n of [3, 4]) {
      const found = await t.req('GET', `/Users?filter=${q(`userName eq "zz${n}@example.com"`)}`)
      await t.req('DELETE', `/Users/${String(found.json.Resources?.[0]?.id)}`)
    }
  })

  it('attributes and excludedAttributes project every read, and id and schemas always stay', async () => {
    const r = await t.req('GET', `/Users?filter=${q('userName eq "alice@example.com"')}&attributes=userName,name.givenName`)
    const u = (r.json.Resources ?? [])[0] ?? {}
    expect(Object.keys(u).sort()).toEqual(['id', 'name', 'schemas', 'userName'])
    expect(u.name).toEqual({ givenName: 'Alice' })
    const one = await t.req('GET', `/Users/${ids.get('bob@example.com') ?? ''}?excludedAttributes=emails,name,meta`)
    expect(one.json.emails).toBeUndefined()
    expect(one.json.name).toBeUndefined()
    expect(one.json.userName).toBe('bob@example.com')
    const ext = await t.req('GET', `/Users/${ids.get('bob@example.com') ?? ''}?attributes=${ENT}:department`)
    expect(ext.json[ENT]).toEqual({ department: 'Eng' })
  })

  it('POST /Users/.search and POST /.search take the same parameters in a body', async () => {
    const body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'title eq "engineer"', attributes: ['userName'], sortBy: 'userName', count: 10 }
    const r = await t.req('POST', '/Users/.search', body)
    expect(r.status).toBe(200)
    expect((r.json.Resources ?? []).map((u) => u.userName)).toEqual(['bob@example.com', 'carol@example.org'])
    const g = await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Searchers' })
    expect(g.status).toBe(201)
    const all = await t.req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'displayName pr or userName pr', count: 100 })
    expect(all.status).toBe(200)
    expect(all.json.totalResults).toBe(6)
    const groupsOnly = await t.req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'members pr or displayName eq "searchers"' })
    expect(groupsOnly.json.totalResults).toBe(1)
    const bad = await t.req('POST', '/Users/.search', { schemas: ['urn:wrong'], filter: 'userName pr' })
    expect(bad.status).toBe(400)
  })
})
