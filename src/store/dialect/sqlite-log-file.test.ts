// The SQLite log file: the appender's rows go there (written by the background worker, or on
// the main thread without one), a write's own row stays in the main file, and the log reads,
// pages and prunes as one table across both.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { uuidV7At, uuidV7Floor, uuidV7Generator } from '../../ids.ts'
import type { LogQuery, LogRow, OrgId } from '../store.ts'
import { LOG_FILE_VERSION, logFilePath, logKey, logText, openLogFile } from './sqlite-log-file.mjs'
import { openSqliteStore } from './sqlite.ts'

describe('log file naming and keys', () => {
  it('puts the log file beside the database', () => {
    expect(logFilePath('/srv/data/roster.db')).toBe('/srv/data/roster-log.db')
    expect(logFilePath('/srv/data/roster.sqlite3')).toBe('/srv/data/roster-log.sqlite3')
    expect(logFilePath('/srv/data/roster')).toBe('/srv/data/roster-log.db')
    expect(logFilePath('/srv/v1.2/roster')).toBe('/srv/v1.2/roster-log.db')
  })

  it('keeps canonical UUIDs as 16 bytes and anything else as it came', () => {
    const id = '0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6'
    const key = logKey(id)
    expect(key).toBeInstanceOf(Buffer)
    expect((key as Buffer).length).toBe(16)
    expect(logText(key)).toBe(id)
    for (const other of ['whatever', '0192F3A4-5B6C-7D8E-9FA0-B1C2D3E4F5A6', '', '123']) expect(logKey(other)).toBe(other)
    expect(logText('whatever')).toBe('whatever')
    expect(logText(null)).toBe(null)
  })
})

describe('the log file schema', () => {
  it('a version 1 file gains the identity-provider index once, and keeps its rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-logfile-v1-'))
    try {
      const path = join(dir, 'roster-log.db')
      const at = uuidV7At()
      // The file as version 1 made it: the table, two indexes, no provisioning_log_idp.
      const v1 = new BetterSqlite3(path)
      v1.exec(`create table provisioning_log (
        org_id blob not null, id blob not null, at text not null, request_id text not null,
        identity_provider text not null, method text not null, path text not null, resource_type text,
        resource_id blob, status integer not null, scim_type text, detail text, duration_us integer not null,
        changes text, notes text, primary key (org_id, id)) without rowid`)
      v1.prepare(`insert into provisioning_log (org_id, id, at, request_id, identity_provider, method, path, status, duration_us)
        values (?, ?, '2026-01-01T00:00:00.000Z', 'r', 'okta', 'GET', '/scim/v2/Users', 200, 1)`).run(logKey(at(1)), logKey(at(2)))
      v1.pragma('user_version = 1')
      v1.close()
      for (let i = 0; i < 2; i++) openLogFile(path, 1_000).close()
      const db = new BetterSqlite3(path, { readonly: true })
      expect(db.pragma('user_version', { simple: true })).toBe(LOG_FILE_VERSION)
      expect(db.prepare("select count(*) as n from sqlite_schema where name = 'provisioning_log_idp'").get()).toEqual({ n: 1 })
      expect(db.prepare('select identity_provider from provisioning_log').all()).toEqual([{ identity_provider: 'okta' }])
      const plan = db.prepare('explain query plan select id from provisioning_log where org_id = ? and identity_provider = ? order by id desc limit 10').all(Buffer.alloc(16), 'okta') as { detail: string }[]
      expect(plan.map((p) => p.detail).join(' ')).toContain('provisioning_log_idp')
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

const ALL: LogQuery = { before: null, sinceId: null, status: null, statusClass: null, resourceId: null, limit: 1000 }

describe.each([
  { name: 'with the background worker', backgroundCheckpoint: true },
  { name: 'on the main thread (the CLI)', backgroundCheckpoint: false },
])('the provisioning log across the main file and the log file, $name', ({ backgroundCheckpoint }) => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('appends to the log file, keeps in-transaction rows in the main file, and reads, pages and prunes both as one log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-logfile-'))
    dirs.push(dir)
    const path = join(dir, 'roster.db')
    const store = await openSqliteStore({ path, backgroundCheckpoint })
    const newId = uuidV7Generator()
    const orgId = newId() as OrgId
    const other = newId() as OrgId
    const userId = newId()
    const logId = uuidV7At()
    const t0 = Date.parse('2026-11-01T00:00:00Z')
    const row = (i: number, o: Partial<LogRow> = {}): LogRow => ({
      id: logId(t0 + i), at: new Date(t0 + i).toISOString(), requestId: `req-${i}`, identityProvider: 'entra', method: 'GET',
      path: `/scim/v2/Users/${userId}`, resourceType: 'User', resourceId: userId, status: 200, scimType: null, detail: null,
      durationUs: 100 + i, changes: null, notes: null, ...o,
    })
    try {
      await store.write((tx) => tx.createOrg({ id: orgId, name: 'a', now: new Date().toISOString(), domains: [] }))
      await store.write((tx) => tx.createOrg({ id: other, name: 'b', now: new Date().toISOString(), domains: [] }))
      // Rows 0, 2, 4 … 18 through the appender's path; 1, 3 … 19 as a write's own rows.
      const appended = Array.from({ length: 10 }, (_, k) => row(2 * k, k === 3 ? { status: 404, scimType: null, detail: 'no such user', resourceId: 'not-a-uuid', path: '/scim/v2/Users/not-a-uuid' } : {}))
      const written = Array.from({ length: 10 }, (_, k) => row(2 * k + 1, { method: 'PATCH', status: 200, changes: '{"x":1}' }))
      await store.appendLog(appended.map((r) => ({ orgId, row: r })))
      await store.appendLog([{ orgId: other, row: row(50) }])
      for (const r of written) await store.write((tx) => tx.insertLog(orgId, r))

      // Where they are: the main file holds the ten written rows, the log file the eleven appended.
      const main = new BetterSqlite3(path, { readonly: true })
      const file = new BetterSqlite3(logFilePath(path), { readonly: true })
      expect(main.prepare('select count(*) as n from provisioning_log').get()).toEqual({ n: 10 })
      expect(file.prepare('select count(*) as n from provisioning_log').get()).toEqual({ n: 11 })
      const kinds = file.prepare('select typeof(org_id) as o, typeof(id) as i, typeof(resource_id) as r, length(id) as n from provisioning_log where org_id = ? order by id').all(logKey(orgId))
      expect(kinds).toHaveLength(10)
      expect(kinds.filter((k) => (k as { r: string }).r === 'text')).toHaveLength(1)
      expect(kinds.every((k) => (k as { o: string; i: string; n: number }).o === 'blob' && (k as { i: string }).i === 'blob' && (k as { n: number }).n === 16)).toBe(true)
      main.close()
      file.close()

      // Read as one log: newest first, exactly the organization's twenty rows, as they were given.
      const everything = [...appended, ...written].sort((a, b) => (a.id < b.id ? 1 : -1))
      expect(await store.listLog(orgId, ALL)).toEqual(everything)
      // Cursor pages of 3 add up to the whole, in order, across the two files.
      const paged: LogRow[] = []
      let before: string | null = null
      for (;;) {
        const page: readonly LogRow[] = await store.listLog(orgId, { ...ALL, before, limit: 3 })
        paged.push(...page)
        if (page.length < 3) break
        before = page[page.length - 1]?.id ?? null
      }
      expect(paged).toEqual(everything)
      // Each filter on each file.
      expect((await store.listLog(orgId, { ...ALL, resourceId: userId })).map((r) => r.id)).toEqual(everything.filter((r) => r.resourceId === userId).map((r) => r.id))
      expect((await store.listLog(orgId, { ...ALL, resourceId: 'not-a-uuid' })).map((r) => r.requestId)).toEqual(['req-6'])
      expect((await store.listLog(orgId, { ...ALL, status: 404 })).map((r) => r.requestId)).toEqual(['req-6'])
      expect((await store.listLog(orgId, { ...ALL, statusClass: 2 }))).toHaveLength(19)
      expect((await store.listLog(orgId, { ...ALL, sinceId: uuidV7Floor(t0 + 15) })).map((r) => r.requestId)).toEqual(['req-19', 'req-18', 'req-17', 'req-16', 'req-15'])
      expect((await store.listLog(other, ALL)).map((r) => r.requestId)).toEqual(['req-50'])

      // Retention: rows before t0 + 12, four at a time, from both files; the other organization's stay.
      const before12 = uuidV7Floor(t0 + 12)
      const counts: number[] = []
      for (;;) {
        const n = await store.pruneLog(orgId, before12, 4)
        counts.push(n)
        if (n < 4) break
      }
      expect(counts.reduce((a, b) => a + b, 0)).toBe(12)
      expect((await store.listLog(orgId, ALL)).map((r) => r.id)).toEqual(everything.filter((r) => r.id >= before12).map((r) => r.id))
      expect(await store.listLog(other, ALL)).toHaveLength(1)
    } finally {
      await store.close()
    }
  })
})

describe('reopening', () => {
  // Several processes creating the file at once: test/e2e/cli.test.ts starts four `roster
  // migrate` on one new database, and each opens the log file.
  it('a store opened again finds the log file and its rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-logfile-'))
    try {
      const path = join(dir, 'roster.db')
      const orgId = uuidV7Generator()() as OrgId
      const id = uuidV7At()(Date.now())
      const first = await openSqliteStore({ path })
      await first.write((tx) => tx.createOrg({ id: orgId, name: 'a', now: new Date().toISOString(), domains: [] }))
      await first.appendLog([{ orgId, row: { id, at: new Date().toISOString(), requestId: 'r', identityProvider: 'okta', method: 'GET', path: '/scim/v2/Users', resourceType: 'User', resourceId: null, status: 200, scimType: null, detail: null, durationUs: 1, changes: null, notes: null } }])
      await first.close()
      const again = await openSqliteStore({ path })
      expect((await again.listLog(orgId, ALL)).map((r) => r.id)).toEqual([id])
      await again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
