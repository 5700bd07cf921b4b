// Concurrent writes over real sockets, on a SQLite file and on PostgreSQL: duplicate creates
// (docs/architecture.md DUR-1), clients adding and removing disjoint and overlapping member
// batches of one group (DUR-2), two writers of one user with and without If-Match (DUR-3), and
// lost-update and deadlock safety. Each result is checked in the resources and in the event feed.
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeBatches } from '../../src/ops/store-stats.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { drainFeed } from '../helpers/feed-over-http.ts'
import { createdEventProblems, duplicateCreateRound, roundProblems, type Send } from '../reliability/lib/duplicate-creates.ts'
import { setAlgebraRun } from '../reliability/lib/set-algebra.ts'
import { httpOrgs, type HttpOrg } from '../helpers/http-orgs.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { call } from '../helpers/spawned-server.ts'

// As many rounds as keep the test short on a loaded machine; `npm run duplicate-creates` runs 1,000.
const CREATE_ROUNDS = 50

describe.each(storeMatrix())('concurrency on $name', (factory) => {
  let t: TestApp
  let base = ''
  let freshOrg: (name: string) => Promise<HttpOrg>
  beforeAll(async () => {
    t = await startApp(factory)
    const h = await httpOrgs(t)
    base = `${h.root}/scim/v2`
    freshOrg = h.fresh
  })
  afterAll(async () => t.close())

  const send = (method: string, path: string, body?: unknown) => call(base, method, path, t.token, body)

  it(`64 concurrent creates of one userName in case variants, ${CREATE_ROUNDS} rounds: each exactly one 201, 63 × 409 uniqueness, one row, one user.created`, async () => {
    const o = await freshOrg('dur1')
    const send: Send = (method, path, body) => o.send(method, path, body)
    const winners: string[] = []
    const problems: string[] = []
    for (let round = 0; round < CREATE_ROUNDS; round++) {
      const r = await duplicateCreateRound(send, round, (userName) => user(userName))
      problems.push(...roundProblems(round, r))
      winners.push(...r.created)
    }
    expect(problems).toEqual([])
    expect((await o.send('GET', '/Users?count=1000&attributes=userName')).json.totalResults).toBe(CREATE_ROUNDS)
    // Exactly one user.created per round, for the user that was created, and no other event.
    const events = await drainFeed(o.feed)
    expect(events.map((e) => e.type)).toEqual(winners.map(() => 'user.created'))
    expect(createdEventProblems(events, winners)).toEqual([])
  }, 60_000)

  it('32 clients adding and removing disjoint and overlapping member batches of one group: the set algebra holds, one event per effective change', async () => {
    // 1,200 members at the start and 1,200 users outside; `npm run set-algebra` runs 50,000.
    const o = await freshOrg('dur2')
    const r = await setAlgebraRun(o.send, o.feed, 1_200)
    expect(r.problems).toEqual([])
    // The contested members did change hands: not all of them ended where they started.
    expect(r.contestedMoved).toBeGreaterThan(0)
    expect(r.events).toBeGreaterThan(0)
  }, 120_000)

  it('two writers of one user: with If-Match of one version exactly one 200 and one 412; without, the user is exactly one of the two bodies', async () => {
    const o = await freshOrg('dur3')
    const bodyOf = (who: string, round: number) => user(`two.writers.${round}@example.com`, {
      displayName: `${who} ${round}`, title: `${who} title`, name: { givenName: who, familyName: `${who} family` },
      phoneNumbers: [{ value: `+1 555 ${who === 'first' ? '0101' : '0202'}`, type: 'work' }], locale: who === 'first' ? 'en-GB' : 'fr-FR',
    })
    for (let round = 0; round < 20; round++) {
      const c = await o.send('POST', '/Users', bodyOf('start', round))
      expect(c.status).toBe(201)
      const id = String(c.json.id)
      const read = await o.send('GET', `/Users/${id}`)
      const v1 = String(read.headers.get('etag'))
      expect(v1).toBe('W/"1"')
      const guarded = await Promise.all(['first', 'second'].map((who) => o.send('PUT', `/Users/${id}`, bodyOf(who, round), { 'if-match': v1 })))
      expect(guarded.map((r) => r.status).sort()).toEqual([200, 412])
      expect(guarded.find((r) => r.status === 412)?.json.status).toBe('412')
      const winner = guarded.find((r) => r.status === 200)
      expect(winner?.json.displayName).toBe(`${winner === guarded[0] ? 'first' : 'second'} ${round}`)
      const afterGuarded = await o.send('GET', `/Users/${id}`)
      expect(afterGuarded.json).toEqual(winner?.json)
      expect(afterGuarded.headers.get('etag')).toBe('W/"2"')

      const blind = await Promise.all(['first', 'second'].map((who) => o.send('PUT', `/Users/${id}`, bodyOf(who, round))))
      expect(blind.map((r) => r.status), blind.map((r) => r.text).join(' | ')).toEqual([200, 200])
      // Each answer is the resource as its own write left it: its own body, its ETag its version.
      for (const [i, who] of ['first', 'second'].entries()) {
        const r = blind[i]
        expect(r?.json, who).toMatchObject({ displayName: `${who} ${round}`, title: `${who} title`, locale: (bodyOf(who, round) as { locale: string }).locale, phoneNumbers: (bodyOf(who, round) as { phoneNumbers: unknown }).phoneNumbers })
        expect(r?.headers.get('etag'), who).toBe((r?.json.meta as { version: string } | undefined)?.version)
      }
      const final = await o.send('GET', `/Users/${id}`)
      // The later write's answer, whole: never one writer's name with the other's phone; and each
      // answer is what its own write left, so only one of them is the final state.
      expect(blind.filter((r) => isDeepStrictEqual(r.json, final.json)), JSON.stringify(blind.map((r) => r.json.meta))).toHaveLength(1)
    }
  }, 60_000)

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
