// A page that starts where a page served since the last commit ended continues from that row
// (list-pager.ts ListPager.list): the same rows as skipping startIndex - 1, through commits in between.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseFilter } from '../../scim/filter/parser.ts'
import { uuidV7Generator } from '../../ids.ts'
import { openSqliteStore } from '../dialect/sqlite.ts'
import type { ListQuery, OrgId, Store } from '../store.ts'

const newId = uuidV7Generator()
const now = () => new Date().toISOString()

describe('list pages continued from the previous page', () => {
  let dir = ''
  let store: Store
  const org = newId() as OrgId
  const prepared: string[] = []
  /** How often a statement whose SQL starts with `select count(*)` ran. */
  let counts = 0

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-keyset-'))
    const prepare = BetterSqlite3.prototype.prepare
    vi.spyOn(BetterSqlite3.prototype, 'prepare').mockImplementation(function (this: BetterSqlite3.Database, source: string) {
      prepared.push(source)
      const stmt = prepare.call(this, source)
      if (source.startsWith('select count(*)')) {
        const all = stmt.all.bind(stmt) as (...args: unknown[]) => unknown[]
        stmt.all = ((...args: unknown[]) => {
          counts++
          return all(...args)
        }) as typeof stmt.all
      }
      return stmt
    })
    store = await openSqliteStore({ path: join(dir, 'r.db') })
    await store.write((tx) => tx.createOrg({ id: org, name: 'keyset', now: now(), domains: [] }))
    // Names in an order unlike creation order; "a" and "A" fold alike (case-insensitive).
    for (let i = 0; i < 250; i++) {
      const userName = `u${String((i * 7919) % 1000).padStart(4, '0')}@example.com`
      await store.write((tx) => tx.insertUser(org, { id: newId(), body: { userName, title: i % 3 === 0 ? 'x' : 'y' }, passwordHash: null, now: now(), identityProvider: null, customAttributes: null, managedBy: 'scim', pending: false, metadata: null }))
    }
  })
  afterAll(async () => {
    vi.restoreAllMocks()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const q = (startIndex: number, count: number, filter?: string, sortOrder: 'ascending' | 'descending' = 'ascending'): ListQuery =>
    ({ filter: filter ? parseFilter(filter) : null, sortBy: null, sortOrder, startIndex, count })
  const names = async (query: ListQuery) => (await store.listUsers(org, query, { withMembership: false })).rows.map((r) => String(r.body.userName))

  it.each([
    ['ascending', undefined],
    ['descending', undefined],
  ] as const)('pages %s with filter %s give every row once, in order, as one big page does', async (order, filter) => {
    prepared.length = 0
    const all = await names(q(1, 1000, filter, order))
    const paged: string[] = []
    for (let s = 1; s <= all.length; s += 30) paged.push(...await names(q(s, 30, filter, order)))
    expect(paged).toEqual(all)
    // Continued pages ran as a key range, not an offset.
    const range = order === 'descending' ? '"t"."user_name_folded" < ?' : '"t"."user_name_folded" > ?'
    expect(prepared.some((t) => t.includes(range))).toBe(true)
  })

  it.each(['ascending', 'descending'] as const)('pages asked for out of order (%s) continue from the nearest earlier end and skip the rest', async (order) => {
    const all = await names(q(1, 1000, undefined, order))
    // Pages of 29 (LIMIT is literal, so these statements are prepared here, not earlier).
    await names(q(1, 29, undefined, order))
    prepared.length = 0
    // No page has ended at 87 yet: this one starts from the end at 29 and skips 58 rows.
    expect(await names(q(88, 29, undefined, order))).toEqual(all.slice(87, 116))
    const range = order === 'descending' ? '"t"."user_name_folded" < ?' : '"t"."user_name_folded" > ?'
    expect(prepared.filter((t) => t.includes('limit 29')).map((t) => t.includes(range) && / offset \?$/.test(t))).toEqual([true])
    // Then the pages in between, in reverse: each from the nearest end below it.
    const between: string[][] = []
    for (let s = 59; s >= 30; s -= 29) between.unshift(await names(q(s, 29, undefined, order)))
    expect(between.flat()).toEqual(all.slice(29, 87))
    expect(await names(q(117, 29, undefined, order))).toEqual(all.slice(116, 145))
  })

  it('filtered pages skip rows as before, with the same result', async () => {
    const all = await names(q(1, 1000, 'title eq "x"'))
    const paged: string[] = []
    for (let s = 1; s <= all.length; s += 30) paged.push(...await names(q(s, 30, 'title eq "x"')))
    expect(paged).toEqual(all)
  })

  it('after a commit between pages, a page is what skipping startIndex - 1 rows gives', async () => {
    const first = await names(q(1, 50))
    // A name that sorts first: every later row moves one place.
    await store.write((tx) => tx.insertUser(org, { id: newId(), body: { userName: 'a0@example.com' }, passwordHash: null, now: now(), identityProvider: null, customAttributes: null, managedBy: 'scim', pending: false, metadata: null }))
    const second = await names(q(51, 50))
    const all = await names(q(1, 1000))
    expect(second).toEqual(all.slice(50, 100))
    expect(second[0]).toBe(first[49])
  })

  it('a list total is reused across provisioning-log batches, and counted again after a data commit or another process\'s commit', async () => {
    // A data commit first: whatever an earlier test counted is stale.
    await store.write((tx) => tx.insertUser(org, { id: newId(), body: { userName: 'early@example.com' }, passwordHash: null, now: now(), identityProvider: null, customAttributes: null, managedBy: 'scim', pending: false, metadata: null }))
    const before = counts
    await names(q(1, 10))
    await names(q(11, 10))
    expect(counts - before).toBe(1)
    const logRow = (id: string) => ({
      id, at: now(), requestId: 'r', identityProvider: 'unknown', method: 'GET', path: '/scim/v2/Users', resourceType: null,
      resourceId: null, status: 200, scimType: null, detail: null, durationUs: 1, changes: null, notes: null,
    })
    await store.appendLog([{ orgId: org, row: logRow(newId()) }])
    await names(q(21, 10))
    expect(counts - before).toBe(1)
    // Retention's deletes are log-only too.
    expect(await store.pruneLog(org, newId(), 10)).toBe(1)
    await names(q(31, 10))
    expect(counts - before).toBe(1)
    await store.write((tx) => tx.insertUser(org, { id: newId(), body: { userName: 'late@example.com' }, passwordHash: null, now: now(), identityProvider: null, customAttributes: null, managedBy: 'scim', pending: false, metadata: null }))
    await names(q(41, 10))
    expect(counts - before).toBe(2)
    // Another process's commit, whatever it wrote, may have changed users.
    const other = new BetterSqlite3(join(dir, 'r.db'))
    other.prepare('insert into org_domains (org_id, domain) values (?, ?)').run(org, 'other.example')
    other.close()
    await names(q(51, 10))
    expect(counts - before).toBe(3)
  })
})
