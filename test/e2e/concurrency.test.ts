// Concurrent writes over real sockets: duplicate creates, interleaved member PATCHes on one
// group (docs/architecture.md DUR-1, DUR-2), and lost-update safety.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeBatches } from '../../src/ops/store-stats.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { call } from '../helpers/spawned-server.ts'

describe.each(storeMatrix())('concurrency on $name', (factory) => {
  let t: TestApp
  let base = ''
  beforeAll(async () => {
    t = await startApp(factory)
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/scim/v2`
  })
  afterAll(async () => t.close())

  const send = (method: string, path: string, body?: unknown) => call(base, method, path, t.token, body)

  it('64 concurrent creates of one userName in case variants: exactly one 201, the rest 409, no 5xx', async () => {
    for (let round = 0; round < 5; round++) {
      const variants = Array.from({ length: 64 }, (_, i) => (i % 2 ? `Race${round}@Example.com` : `race${round}@example.COM`))
      const results = await Promise.all(variants.map((v) => send('POST', '/Users', user(v))))
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 201)).toHaveLength(1)
      expect(statuses.filter((s) => s === 409)).toHaveLength(63)
      expect(results.filter((r) => r.status === 409).every((r) => r.json.scimType === 'uniqueness')).toBe(true)
      const found = await send('GET', `/Users?filter=${encodeURIComponent(`userName eq "RACE${round}@example.com"`)}`)
      expect(found.json.totalResults).toBe(1)
    }
  })

  it('32 clients adding and removing members of one group concurrently lose nothing', async () => {
    const ids: string[] = []
    const created = await Promise.all(Array.from({ length: 320 }, (_, i) => send('POST', '/Users', user(`conc${i}@example.com`))))
    for (const c of created) ids.push(String(c.json.id))
    const g = await send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Concurrent' })
    const gid = String(g.json.id)
    // Each client adds its own 10 members, then removes the first 2 of them.
    const results = await Promise.all(Array.from({ length: 32 }, async (_, c) => {
      const mine = ids.slice(c * 10, c * 10 + 10)
      const a = await send('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: mine.map((value) => ({ value })) }))
      const r = await send('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${mine[0] ?? ''}" or value eq "${mine[1] ?? ''}"]` }))
      return [a.status, r.status]
    }))
    expect(results.flat().every((s) => s === 204)).toBe(true)
    const expected = ids.filter((_, i) => i % 10 >= 2).sort()
    const got = await send('GET', `/Groups/${gid}`)
    expect(((got.json.members as { value: string }[]) ?? []).map((m) => m.value).sort()).toEqual(expected)
  })

  it('48 concurrent deletes of users who share three groups: all 204, no deadlock retried, the groups\' counts right', async () => {
    const ids = (await Promise.all(Array.from({ length: 48 }, (_, i) => send('POST', '/Users', user(`shared${i}@example.com`))))).map((c) => String(c.json.id))
    const groups: string[] = []
    for (const name of ['Shared A', 'Shared B', 'Shared C']) {
      const g = await send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name, members: ids.map((value) => ({ value })) })
      expect(g.status).toBe(201)
      groups.push(String(g.json.id))
    }
    // Each delete takes its three groups' rows (count and version): on PostgreSQL in one order for
    // every writer, so none waits for another in a cycle (a deadlock is run again, and counted).
    const retriedBefore = writeBatches.retried
    const statuses = (await Promise.all(ids.map((id) => send('DELETE', `/Users/${id}`)))).map((r) => r.status)
    expect(statuses.every((s) => s === 204)).toBe(true)
    expect(writeBatches.retried - retriedBefore).toBe(0)
    for (const gid of groups) {
      const g = await send('GET', `/Groups/${gid}`)
      expect(g.json.members ?? []).toEqual([])
      expect(g.json.meta).toMatchObject({ version: 'W/"49"' })
    }
  })

  it('a user deleted while a member PATCH holds one of its groups: no deadlock, both land', async () => {
    const u = await send('POST', '/Users', user('held.member@example.com'))
    const uid = String(u.json.id)
    const g = await send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Held', members: [{ value: uid }] })
    const gid = String(g.json.id)
    const retriedBefore = writeBatches.retried
    // A member PATCH's transaction: it holds the group's row, then removes the member's row. The
    // user's DELETE meanwhile must not take the membership row first and then wait for the group
    // (on PostgreSQL a cycle, a deadlock a second later; on SQLite it simply waits its turn).
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => { release = r })
    const patch = t.store.write(async (tx) => {
      await tx.getGroupForUpdate(t.orgId, gid)
      await gate
      return tx.applyMemberDelta(t.orgId, gid, { add: [], remove: [uid], removeAll: false, replaceAll: null })
    })
    const deleting = send('DELETE', `/Users/${uid}`)
    await new Promise((r) => setTimeout(r, 300))
    release()
    const [patched, deleted] = await Promise.all([patch, deleting])
    expect(deleted.status).toBe(204)
    expect(patched.removed.map((m) => m.id)).toEqual([uid])
    expect(writeBatches.retried - retriedBefore).toBe(0)
    expect((await send('GET', `/Groups/${gid}`)).json.members ?? []).toEqual([])
  })

  it('concurrent PATCHes of different attributes of one user both land', async () => {
    const c = await send('POST', '/Users', user('two.writers@example.com'))
    const id = String(c.json.id)
    const ops = Array.from({ length: 20 }, (_, i) => send('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'phoneNumbers', value: [{ value: `+1 555 01${String(i).padStart(2, '0')}`, type: 'work' }] })))
    expect((await Promise.all(ops)).every((r) => r.status === 200)).toBe(true)
    const u = await send('GET', `/Users/${id}`)
    expect((u.json.phoneNumbers as unknown[]).length).toBe(20)
    expect(u.json.meta).toMatchObject({ version: 'W/"21"' })
  })
})
