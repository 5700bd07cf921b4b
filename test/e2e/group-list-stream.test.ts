// List pages whose groups show their members, on each store through the HTTP server: the page's
// rows are read without members and each group's members a page at a time
// (src/http/scim/list-stream.ts, group-stream.ts). The answer is the text the unstreamed renderer
// gives (a differential against renderResource of the whole member list), under projections too;
// above the limit it is written while it is read (a real socket receives each members page
// before the next is read); a membership change committed meanwhile cuts a streamed answer off
// and makes a buffered one read the page again; a list that excludes members reads none.
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { project, type ProjectionOptions } from '../../src/scim/projection.ts'
import { renderResource } from '../../src/scim/render.ts'
import { groupResource } from '../../src/scim/schema/registry.ts'
import type { Limits } from '../../src/provisioning/deps.ts'
import type { Store } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
const BASE = 'https://roster.test/scim/v2'
type Json = Record<string, unknown>

describe.each(storeMatrix())('group lists with members on $name', (factory) => {
  let t: TestApp
  let ids: string[] = []
  /** Group id by display name: Alpha 30 members, Bravo 25 (one a group), Charlie none, Delta 5. */
  const groups: Record<string, string> = {}
  let store: Store

  beforeAll(async () => {
    // Above 20 members on a page the answer streams, 7 members a page: the page's 61 take 11 reads.
    t = await startApp(factory, { streamMembersOver: 20, memberPageSize: 7 })
    store = t.store
    ids = []
    for (let i = 0; i < 30; i++) {
      const r = await t.req('POST', '/Users', user(`lister${i}@example.com`, { displayName: i % 3 ? `Lister "${i}"` : undefined }))
      expect(r.status, r.text).toBe(201)
      ids.push(String(r.json.id))
    }
    const make = async (displayName: string, members: string[]) => {
      const r = await t.req('POST', '/Groups', { schemas: [GROUP], displayName, externalId: `ext-${displayName}`, members: members.map((value) => ({ value })) })
      expect(r.status, r.text).toBe(201)
      groups[displayName] = String(r.json.id)
    }
    await make('Charlie', [])
    await make('Delta', ids.slice(0, 5))
    await make('Alpha', ids)
    await make('Bravo', [...ids.slice(6, 30), groups.Delta as string])
  })
  afterAll(async () => t.close())

  /** The unstreamed representation: the whole member list read at once, rendered, projected. */
  async function expected(id: string, p: ProjectionOptions = {}): Promise<Json> {
    const row = await store.getGroup(t.orgId, id, { withMembership: true })
    if (!row) throw new Error(`no group ${id}`)
    const whole = renderResource(groupResource, row, BASE, row.members)
    return p.attributes || p.excludedAttributes ? project(groupResource, whole, p) : whole
  }

  function listText(total: number, startIndex: number, resources: Json[]): string {
    return JSON.stringify({ schemas: [LIST], totalResults: total, itemsPerPage: resources.length, startIndex, Resources: resources })
  }

  /** Replaces a store method for the duration of `fn`. */
  async function spying<K extends 'groupMembersPage' | 'getGroup' | 'listGroups'>(name: K, fake: (original: Store[K]) => Store[K], fn: () => Promise<void>): Promise<void> {
    const original = store[name].bind(store) as Store[K]
    ;(store as unknown as Record<string, unknown>)[name] = fake(original)
    try {
      await fn()
    } finally {
      delete (store as unknown as Record<string, unknown>)[name]
    }
  }

  function setLimit(name: keyof Limits, value: number): () => void {
    const limits = t.deps.limits as unknown as Record<string, number>
    const before = limits[name] as number
    limits[name] = value
    return () => {
      limits[name] = before
    }
  }

  it('answers every member of every group on the page, the unstreamed text exactly, in every order and page', async () => {
    const byName = ['Alpha', 'Bravo', 'Charlie', 'Delta']
    const all = await Promise.all(byName.map((n) => expected(groups[n] as string)))
    expect((all[0]?.members as unknown[]).length).toBe(30)
    expect((all[1]?.members as Json[]).find((m) => m.value === groups.Delta)).toMatchObject({ type: 'Group', display: 'Delta' })
    expect(all[2]).not.toHaveProperty('members')

    let pages = 0
    await spying('groupMembersPage', (original) => async (...args) => {
      pages++
      return original(...args)
    }, async () => {
      const r = await t.req('GET', '/Groups')
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toMatch(/^application\/scim\+json/)
      expect(r.text).toBe(listText(4, 1, all))
      // Alpha's 30 in 5 reads, Bravo's 25 in 4, Delta's 5 in 1; Charlie's count of 0 needs none.
      expect(pages).toBe(10)
    })

    const desc = await t.req('GET', '/Groups?sortBy=displayName&sortOrder=descending&startIndex=2&count=2')
    expect(desc.text).toBe(listText(4, 2, [all[2] as Json, all[1] as Json]))
    const search = await t.req('POST', '/Groups/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'displayName sw "a" or displayName eq "Bravo"', sortBy: 'displayName' })
    expect(search.text).toBe(listText(2, 1, [all[0] as Json, all[1] as Json]))
    const named = await t.req('GET', '/Groups?filter=displayName eq "alpha"')
    expect(named.text).toBe(listText(1, 1, [all[0] as Json]))
    // The root search: users first, then groups, with their members.
    const root = await t.req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'displayName eq "Alpha" or displayName eq "Bravo" or userName eq "lister1@example.com"', startIndex: 1, count: 10 })
    expect(root.status, root.text).toBe(200)
    expect(root.json.totalResults).toBe(3)
    expect(root.json.Resources?.[0]?.userName).toBe('lister1@example.com')
    expect(root.json.Resources?.slice(1)).toEqual([all[0], all[1]])

    // At or under the limit in all, the same text, sent whole.
    const restore = setLimit('streamMembersOver', 1_000)
    try {
      const whole = await t.req('GET', '/Groups')
      expect(whole.text).toBe(listText(4, 1, all))
      expect(whole.headers['content-length']).toBe(String(Buffer.byteLength(whole.text)))
    } finally {
      restore()
    }
  })

  it('projects members the way the unstreamed path does, on lists, GETs and write answers', async () => {
    const alpha = groups.Alpha as string
    const cases: [string, ProjectionOptions][] = [
      ['attributes=members.value', { attributes: ['members.value'] }],
      // A value path is read as the attribute it filters (scim/projection.ts parseAttributeList).
      [`attributes=${encodeURIComponent('members[type eq "User"],displayName')}`, { attributes: ['members', 'displayName'] }],
      ['excludedAttributes=members.display,externalId', { excludedAttributes: ['members.display', 'externalId'] }],
      ['attributes=members.display,members.type', { attributes: ['members.display', 'members.type'] }],
      ['excludedAttributes=externalId', { excludedAttributes: ['externalId'] }],
    ]
    const filter = encodeURIComponent('displayName sw "A" or displayName sw "C" or displayName sw "B"')
    let pages = 0
    const counting = (original: Store['groupMembersPage']): Store['groupMembersPage'] => async (...args) => {
      pages++
      return original(...args)
    }
    for (const [q, p] of cases) {
      await spying('groupMembersPage', counting, async () => {
        const list = await t.req('GET', `/Groups?${q}&filter=${filter}`)
        expect(list.status, list.text).toBe(200)
        expect(list.json.Resources, q).toEqual(await Promise.all(['Alpha', 'Bravo', 'Charlie'].map((n) => expected(groups[n] as string, p))))
        pages = 0
        // Above the limit, a projected GET reads its members a page at a time too: 30 in 5.
        const one = await t.req('GET', `/Groups/${alpha}?${q}`)
        expect(one.status, one.text).toBe(200)
        expect(one.json, q).toEqual(await expected(alpha, p))
        expect((one.json.members as unknown[]).length).toBe(30)
        expect(pages, q).toBe(5)
      })
    }

    // A PATCH that asks for members answers with all of them; PUT answers with what it set.
    pages = 0
    let patched = { status: 0, text: '', json: {} as Json, headers: {} as Record<string, unknown> }
    await spying('groupMembersPage', counting, async () => {
      patched = await t.req('PATCH', `/Groups/${alpha}?attributes=members`, patchOp({ op: 'remove', path: `members[value eq "${ids[0] as string}"]` }))
    })
    expect(pages).toBe(5)
    expect(patched.status, patched.text).toBe(200)
    expect(patched.headers.etag).toBe('W/"2"')
    expect(patched.json).toEqual(await expected(alpha, { attributes: ['members'] }))
    expect((patched.json.members as unknown[]).length).toBe(29)
    const put = await t.req('PUT', `/Groups/${alpha}`, { schemas: [GROUP], displayName: 'Alpha', externalId: 'ext-Alpha', members: ids.map((value) => ({ value })) })
    expect(put.status, put.text).toBe(200)
    expect(put.text).toBe(JSON.stringify(await expected(alpha)))
    expect((put.json.members as unknown[]).length).toBe(30)
  })

  it('writes each page of members before it reads the next (a real socket)', async () => {
    // The test app listens on a port of 127.0.0.1 (test/helpers/app.ts).
    const port = (t.app.server.address() as AddressInfo).port
    let received = ''
    const waits: number[] = []
    await spying('groupMembersPage', (original) => async (orgId, groupId, after, limit) => {
      // The page that ended with `after` has reached the client before the next is read: a
      // server that built the whole answer first would wait here until the test times out.
      // (Searched from the group's own head: Alpha's text names Bravo's members too.)
      const sent = () => {
        const head = received.indexOf(`"id":"${groupId}"`)
        return head >= 0 && received.indexOf(`"value":"${after as string}"`, head) >= 0
      }
      if (after !== null) {
        const t0 = Date.now()
        while (!sent()) {
          if (Date.now() - t0 > 10_000) throw new Error(`member ${after} was not sent before the next page was read`)
          await new Promise((r) => setTimeout(r, 2))
        }
        waits.push(Date.now() - t0)
      }
      return original(orgId, groupId, after, limit)
    }, async () => {
      const res = await new Promise<{ status: number | undefined; chunked: string | undefined; text: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/scim/v2/Groups', headers: { authorization: `Bearer ${t.token}` } }, (res) => {
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            received += c
          })
          res.on('end', () => resolve({ status: res.statusCode, chunked: res.headers['transfer-encoding'], text: received }))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end()
      })
      expect(res.status).toBe(200)
      expect(res.chunked).toBe('chunked')
      const text = res.text
      const json = JSON.parse(text) as { Resources: Json[] }
      expect(json.Resources.map((g) => (g.members as unknown[] | undefined)?.length ?? 0)).toEqual([30, 25, 0, 5])
      // Alpha's pages 2–5 and Bravo's 2–4 each waited for the one before.
      expect(waits).toHaveLength(7)
    })
  })

  it('cuts a streamed page off when a group on it changes, and reads a buffered page again', async () => {
    const bravo = groups.Bravo as string
    let calls = 0
    await spying('groupMembersPage', (original) => async (...args) => {
      // While Alpha's members are being sent, another request removes one of Bravo's.
      if (++calls === 2) expect((await t.req('PATCH', `/Groups/${bravo}`, patchOp({ op: 'remove', path: `members[value eq "${ids[6] as string}"]` }))).status).toBe(204)
      return original(...args)
    }, async () => {
      // The answer is cut off mid-body: over the socket fetch says `terminated` (inject: destroyed before completion).
      await expect(t.req('GET', '/Groups')).rejects.toThrow(/terminated|destroyed before completion/)
    })

    const restore = setLimit('streamMembersOver', 1_000)
    calls = 0
    try {
      await spying('groupMembersPage', (original) => async (...args) => {
        if (++calls === 2) expect((await t.req('PATCH', `/Groups/${bravo}`, patchOp({ op: 'remove', path: `members[value eq "${ids[7] as string}"]` }))).status).toBe(204)
        return original(...args)
      }, async () => {
        const r = await t.req('GET', '/Groups?filter=displayName eq "Bravo" or displayName eq "Alpha"')
        expect(r.status, r.text).toBe(200)
        const b = r.json.Resources?.find((g) => g.id === bravo) as Json
        expect(b).toEqual(await expected(bravo))
        expect((b.members as unknown[]).length).toBe(23)
        expect((b.meta as Json).version).toBe('W/"3"')
      })
    } finally {
      restore()
    }
  })

  it('finishes a streamed answer past the request deadline, and stops a buffered one at it with a 503', async () => {
    // Its own server, with a 300 ms deadline, and member pages that take 150 ms each.
    const d = await startApp(factory, { streamMembersOver: 5, memberPageSize: 3 }, { requestDeadlineMs: 300 })
    try {
      const members: Json[] = []
      for (let i = 0; i < 12; i++) members.push({ value: (await d.req('POST', '/Users', user(`slow${i}@example.com`))).json.id })
      const g = await d.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Slow', members })
      expect(g.status, g.text).toBe(201)
      const slow = d.store
      const original = slow.groupMembersPage.bind(slow)
      let pages = 0
      slow.groupMembersPage = async (...args) => {
        pages++
        await new Promise((r) => setTimeout(r, 150))
        return original(...args)
      }
      try {
        // 12 members in 5 reads, 750 ms: a streamed answer has begun, and it ends complete.
        const streamed = await d.req('GET', '/Groups')
        expect(streamed.status).toBe(200)
        expect((streamed.json.Resources?.[0]?.members as unknown[]).length).toBe(12)
        const one = await d.req('GET', `/Groups/${String(g.json.id)}`)
        expect((one.json.members as unknown[]).length).toBe(12)
        // Built whole (under the limit in all), it is a 503 at the deadline, and no later page is read.
        ;(d.deps.limits as unknown as Record<string, number>).streamMembersOver = 1_000
        pages = 0
        const whole = await d.req('GET', '/Groups')
        expect(whole.status, whole.text).toBe(503)
        expect(whole.headers['retry-after']).toBeDefined()
        await new Promise((r) => setTimeout(r, 800))
        expect(pages).toBeLessThanOrEqual(3)
      } finally {
        delete (slow as unknown as Record<string, unknown>).groupMembersPage
      }
    } finally {
      await d.close()
    }
  })

  it('reads no member when the list excludes members (as Entra ID and Okta ask)', async () => {
    const seen: boolean[] = []
    let pages = 0
    await spying('listGroups', (original) => async (orgId, query, opts) => {
      seen.push(opts.withMembership)
      return original(orgId, query, opts)
    }, () => spying('groupMembersPage', (original) => async (...args) => {
      pages++
      return original(...args)
    }, async () => {
      const r = await t.req('GET', '/Groups?excludedAttributes=members&filter=displayName eq "Alpha"')
      expect(r.status).toBe(200)
      expect(r.json.Resources?.[0]).not.toHaveProperty('members')
      expect(r.json.Resources?.[0]?.displayName).toBe('Alpha')
      const a = await t.req('GET', '/Groups?attributes=displayName')
      expect(a.json.Resources?.map((g) => g.displayName)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta'])
    }))
    expect(seen).toEqual([false, false])
    expect(pages).toBe(0)
  })
})
