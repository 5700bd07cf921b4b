// The writer's commits made durable off the event loop (sqlite-wal-sync.ts): a request is
// answered only after an fsync of the WAL that began after its COMMIT has completed; while that
// fsync is on its way, the next batch's transaction stays open and takes the jobs that arrive;
// a failed fsync is a 503 for the batch it should have covered, and the next one recovers.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StoreUnavailable } from '../store.ts'
import { openConnection, type Db } from './sqlite-connection.ts'
import { GroupCommitter } from './sqlite-group-commit.ts'
import { WalSync, type SyncFile } from './sqlite-wal-sync.ts'

/** An fsync whose answers the test gives, one call at a time. */
function heldDisk() {
  const calls: { fd: number; done: (err: NodeJS.ErrnoException | null) => void }[] = []
  const syncFile: SyncFile = (fd, done) => calls.push({ fd, done })
  return {
    syncFile,
    calls,
    /** Completes the oldest fsync not yet answered. */
    answer(err: NodeJS.ErrnoException | null = null) {
      const c = calls.shift()
      if (!c) throw new Error('no fsync is waiting')
      c.done(err)
    },
  }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('the WAL sync behind the SQLite group committer', () => {
  let dir = ''
  let path = ''
  let db: Db
  let other: Db

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-walsync-'))
    path = join(dir, 'w.db')
    db = openConnection(path, 1_000)
    db.pragma('synchronous = NORMAL')
    db.exec('create table t (id integer primary key, v text not null)')
    other = openConnection(path, 1_000)
  })
  afterEach(() => {
    db.close()
    other.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const visible = () => (other.prepare('select v from t order by id').all() as { v: string }[]).map((r) => r.v)
  const insert = (c: GroupCommitter, v: string) => c.run((conn) => conn.run('insert into t (v) values (?)', [v]))

  it('answers a write only once an fsync begun after its COMMIT has completed', async () => {
    const disk = heldDisk()
    const sync = new WalSync(path, disk.syncFile)
    const c = new GroupCommitter(db, 256, sync)
    let answered = false
    const write = insert(c, 'a').then(() => (answered = true))
    for (let i = 0; i < 5 && disk.calls.length === 0; i++) await tick()
    expect(disk.calls).toHaveLength(1)
    expect(visible()).toEqual(['a'])
    expect(answered).toBe(false)
    expect(sync.durable()).not.toBeNull()
    disk.answer()
    await write
    expect(answered).toBe(true)
    expect(sync.durable()).toBeNull()
    await sync.close()
  })

  it('keeps the next batch open while an fsync is in flight, then commits it with one more fsync', async () => {
    const disk = heldDisk()
    const sync = new WalSync(path, disk.syncFile)
    const c = new GroupCommitter(db, 256, sync)
    const first = insert(c, 'a')
    for (let i = 0; i < 5 && disk.calls.length === 0; i++) await tick()
    expect(disk.calls).toHaveLength(1)
    // Three writes arrive while the first commit's fsync is on its way: they run, but their
    // transaction is not committed until that fsync is done.
    const later = [insert(c, 'b'), insert(c, 'c'), insert(c, 'd')]
    for (let i = 0; i < 5; i++) await tick()
    expect(visible()).toEqual(['a'])
    disk.answer()
    await first
    for (let i = 0; i < 5 && disk.calls.length === 0; i++) await tick()
    expect(visible()).toEqual(['a', 'b', 'c', 'd'])
    expect(disk.calls).toHaveLength(1)
    disk.answer()
    await expect(Promise.all(later)).resolves.toEqual([1, 1, 1])
    await sync.close()
  })

  it('answers 503 to the writes an fsync failed to cover, and the next write is durable again', async () => {
    const disk = heldDisk()
    const sync = new WalSync(path, disk.syncFile)
    const c = new GroupCommitter(db, 256, sync)
    const failed = insert(c, 'a')
    for (let i = 0; i < 5 && disk.calls.length === 0; i++) await tick()
    disk.answer(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))
    await expect(failed).rejects.toBeInstanceOf(StoreUnavailable)
    // A reader that saw the commit the disk refused is refused too, until an fsync covers it.
    const reading = sync.durable()
    expect(reading).not.toBeNull()
    // The sync retries at once (the refused commit is still not durable), and the next write's
    // commit takes one more fsync: both answered by a disk that works again.
    let settled = false
    const next = insert(c, 'b').finally(() => (settled = true))
    while (!settled) {
      await tick()
      if (disk.calls.length > 0) disk.answer()
    }
    await expect(next).resolves.toBe(1)
    await expect(reading).resolves.toBeUndefined()
    expect(sync.durable()).toBeNull()
    await sync.close()
  })

  it('after close, a commit is refused once, and nothing retries in a loop', async () => {
    let calls = 0
    const sync = new WalSync(path, (fd, done) => {
      calls++
      setImmediate(() => done(null))
    })
    const c = new GroupCommitter(db, 256, sync)
    await insert(c, 'a')
    await sync.close()
    const before = calls
    await expect(insert(c, 'late')).rejects.toBeInstanceOf(StoreUnavailable)
    // A reader that saw the late commit is refused too, and asking again does not spin.
    await expect(sync.durable()).rejects.toBeInstanceOf(StoreUnavailable)
    for (let i = 0; i < 20; i++) await tick()
    expect(calls).toBe(before)
  })

  it('does not retry a failing disk by itself: the next commit or reader asks again', async () => {
    let calls = 0
    const sync = new WalSync(path, (fd, done) => {
      calls++
      setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })))
    })
    const c = new GroupCommitter(db, 256, sync)
    await expect(insert(c, 'a')).rejects.toBeInstanceOf(StoreUnavailable)
    for (let i = 0; i < 20; i++) await tick()
    expect(calls).toBe(1)
    await expect(sync.durable()).rejects.toBeInstanceOf(StoreUnavailable)
    expect(calls).toBe(2)
    await sync.close()
  })

  it('syncs the real WAL file with fs.fsync by default', async () => {
    const sync = new WalSync(path)
    const c = new GroupCommitter(db, 256, sync)
    await expect(Promise.all([insert(c, 'x'), insert(c, 'y')])).resolves.toEqual([1, 1])
    expect(sync.durable()).toBeNull()
    expect(visible()).toEqual(['x', 'y'])
    await sync.close()
  })
})
