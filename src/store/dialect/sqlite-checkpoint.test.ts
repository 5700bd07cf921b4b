// The background checkpointer copies committed frames into the database file while the
// server runs, and the database stays consistent.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { uuidV7Generator } from '../../ids.ts'
import type { OrgId } from '../store.ts'
import { openSqliteStore } from './sqlite.ts'

describe('SQLite background checkpoint', () => {
  it('moves committed pages into the database file without a writer checkpoint, and keeps it consistent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-ckpt-'))
    const path = join(dir, 'r.db')
    const store = await openSqliteStore({ path })
    const newId = uuidV7Generator()
    const orgId = newId() as OrgId
    await store.write((tx) => tx.createOrg({ id: orgId, name: 'ckpt', now: new Date().toISOString(), domains: [] }))
    const sizeBefore = statSync(path).size
    // Far fewer pages than the writer's own 4,000-page threshold: any growth of the main
    // file while the store is open is the background checkpointer's work.
    for (let b = 0; b < 20; b++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.write((tx) => tx.insertUser(orgId, {
        id: newId(), body: { userName: `u${b}-${i}@example.com`, nickName: 'x'.repeat(500) }, passwordHash: null, now: new Date().toISOString(), identityProvider: null, customAttributes: null, managedBy: 'scim', pending: false, metadata: null,
      }))))
    }
    let grown = false
    for (let i = 0; i < 50 && !grown; i++) {
      await new Promise((r) => setTimeout(r, 50))
      grown = statSync(path).size > sizeBefore
    }
    expect(grown).toBe(true)
    await store.close()
    const db = new BetterSqlite3(path, { readonly: true })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(db.prepare('select count(*) as n from users').get()).toEqual({ n: 1000 })
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
