// The read pool stops a statement that outlives its timeout and keeps serving.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fold } from '../../scim/fold.ts'
import { StoreUnavailable } from '../store.ts'
import { SqliteReadPool } from './sqlite-read-pool.ts'

describe('SqliteReadPool', () => {
  let dir = ''
  let pool: SqliteReadPool
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-pool-'))
    const db = new BetterSqlite3(join(dir, 'r.db'))
    db.pragma('journal_mode = WAL')
    db.exec("create table t (x text); insert into t values ('Ａbc')")
    db.close()
    pool = await SqliteReadPool.open(join(dir, 'r.db'), 1, 100, 300)
  })
  afterAll(async () => {
    await pool.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers reads with roster_fold registered, folding exactly as src/scim/fold.ts does', async () => {
    expect(await pool.all('select roster_fold(x) as f from t', [])).toEqual([{ f: 'abc' }])
    const samples = ['Ａbc', 'ÉVE', 'Straße', 'İstanbul', 'ΣΑΣ', 'ﬁ', 'Ⅻ', 'e\u0301', '%_\\', '']
    const rows = await pool.all<{ f: string }>(`select ${samples.map(() => 'roster_fold(?) as f').join(' union all select ')}`, samples)
    expect(rows.map((r) => r.f)).toEqual(samples.map(fold))
  })

  it('a statement past the timeout is a StoreUnavailable, and the next read is served by a fresh worker', async () => {
    const slow = pool.all('with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) as n from c where x < 3000000', [])
    await expect(slow).rejects.toBeInstanceOf(StoreUnavailable)
    expect(await pool.all('select count(*) as n from t', [])).toEqual([{ n: 1 }])
  })

  it('a failing statement rejects with the SQLite error code and the worker stays', async () => {
    await expect(pool.all('select * from no_such_table', [])).rejects.toMatchObject({ code: 'SQLITE_ERROR' })
    expect(await pool.all('select 1 as one', [])).toEqual([{ one: 1 }])
  })
})
