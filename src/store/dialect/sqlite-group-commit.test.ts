// The group committer when SQLite rolls a whole batch back by itself (SQLITE_FULL here, from a
// page limit: the way a full disk behaves): every request of the batch is answered 503, none is
// acknowledged, nothing of the batch is written, and the next batch commits as usual.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StoreUnavailable } from '../store.ts'
import { openConnection, type Db } from './sqlite-connection.ts'
import { GroupCommitter } from './sqlite-group-commit.ts'

describe('the SQLite group committer', () => {
  let dir = ''
  let db: Db

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-commit-'))
    db = openConnection(join(dir, 'c.db'), 1_000)
    db.exec('create table t (id integer primary key, v text not null)')
  })
  afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const count = () => (db.prepare('select count(*) as n from t').get() as { n: number }).n

  it('answers every request of a batch 503 when SQLite rolled the batch back (disk full), writes none of it, and commits the next batch', async () => {
    const c = new GroupCommitter(db, 256)
    await c.run((conn) => conn.run('insert into t (v) values (?)', ['before']))
    db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true })) + 2}`)
    const small = (v: string) => c.run((conn) => conn.run('insert into t (v) values (?)', [v]))
    const filling = c.run(async (conn) => {
      for (let i = 0; i < 100; i++) await conn.run('insert into t (v) values (?)', ['x'.repeat(4_000)])
    })
    const results = await Promise.allSettled([small('a'), filling, small('b')])
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailable)
    }
    expect(db.inTransaction).toBe(false)
    expect(count()).toBe(1)

    db.pragma('max_page_count = 1073741823')
    await expect(small('after')).resolves.toBe(1)
    expect(count()).toBe(2)
  })

  it('undoes only the failing request when the transaction survives its error (a constraint)', async () => {
    const c = new GroupCommitter(db, 256)
    const results = await Promise.allSettled([
      c.run((conn) => conn.run('insert into t (id, v) values (1, ?)', ['one'])),
      c.run((conn) => conn.run('insert into t (id, v) values (1, ?)', ['again'])),
      c.run((conn) => conn.run('insert into t (id, v) values (2, ?)', ['two'])),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(count()).toBe(2)
  })
})
