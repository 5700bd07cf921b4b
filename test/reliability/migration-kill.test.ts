// kill -9 during a migration (docs/architecture.md DUR-12; PostgreSQL documentation, "Explicit
// Locking", advisory locks; SQLite, "Atomic Commit In SQLite"). A database at schema 0004 holds
// enough rows that the later migrations take a noticeable time (SQLite's 0005 rebuilds the
// membership table, 0007 counts every group's members, 0014 indexes users and the log). An
// identical copy is migrated first by `roster serve`, uninterrupted, to learn how long the
// migration's lock is held; then `roster serve` is started on other copies and killed with
// SIGKILL at moments spread over that time, each counted from when the migration's lock was
// seen held. After every kill the applied migrations are the old ones or all of them, never a
// part; at least one kill must have landed mid-migration (the lock held at the kill, the later
// migrations missing after it), or the test proves nothing. Then each killed copy is restarted:
// the server answers, every migration is recorded once, the schema is a fresh database's, the
// file's integrity check passes, and every row is there. The first copy killed mid-migration is
// restarted by two processes at once: both come up, each migration applied once.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { freePort } from '../helpers/free-port.ts'
import { BIN, call, healthy, serverEnv } from '../helpers/spawned-server.ts'
import {
  buildPostgres, buildSqlite, emptyPostgres, expectedCounts, groupId, groupsOf, OLD_LAST, sqliteTarget, userId, userName, type Size, type Target,
} from './lib/old-schema-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const SIZE: Size = { users: 15_000, groups: 40, membersPerGroup: 6_000, logRows: 60_000 }
/** Where in the measured migration each kill lands, as a fraction of its length. */
const KILL_AT = [0.2, 0.5, 0.8]
const OLD = migrationNames().filter((n) => n <= OLD_LAST)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Proc {
  readonly proc: ChildProcess
  readonly base: string
  stderr(): string
  exited(): boolean
}

async function spawnServe(target: Target): Promise<Proc> {
  const port = await freePort()
  const proc = spawn(process.execPath, [BIN, 'serve'], { env: { ...serverEnv(target.url), PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000)
  })
  return { proc, base: `http://127.0.0.1:${port}`, stderr: () => err, exited: () => proc.exitCode !== null || proc.signalCode !== null }
}

async function stop(p: Proc, signal: NodeJS.Signals): Promise<void> {
  if (p.exited()) return
  const gone = new Promise((r) => p.proc.once('exit', r))
  p.proc.kill(signal)
  await gone
}

/** Waits (polling) until the migration's lock is held, or the process has exited; the time it was first seen. */
async function untilLockHeld(target: Target, p: Proc): Promise<number | null> {
  const until = Date.now() + 60_000
  while (Date.now() < until && !p.exited()) {
    if (await target.lockHeld()) return Date.now()
    await sleep(5)
  }
  return null
}

/** How long an uninterrupted migration of `copy` holds its lock, from a server started on it. */
async function measure(copy: Target): Promise<number> {
  const p = await spawnServe(copy)
  try {
    const from = await untilLockHeld(copy, p)
    if (from === null) throw new Error(`the migration's lock was never seen held: ${p.stderr()}`)
    while (await copy.lockHeld()) await sleep(5)
    const ms = Date.now() - from
    expect(await healthy(p.base, { proc: p.proc })).toBe(true)
    expect(await copy.applied()).toEqual(migrationNames())
    return ms
  } finally {
    await stop(p, 'SIGTERM')
  }
}

interface Kill {
  readonly afterMs: number
  readonly heldAtKill: boolean
  readonly applied: 'old' | 'all'
}

/** Starts a server on `target`, waits for its migration to begin, then `afterMs`, and SIGKILLs it. */
async function killDuring(target: Target, afterMs: number): Promise<Kill> {
  const p = await spawnServe(target)
  const began = await untilLockHeld(target, p)
  if (began === null) throw new Error(`the server exited before migrating: ${p.stderr()}`)
  await sleep(afterMs)
  const heldAtKill = await target.lockHeld()
  await stop(p, 'SIGKILL')
  const names = await target.applied()
  // One transaction holds every pending migration: after the kill all of them or none.
  expect([OLD, migrationNames()]).toContainEqual(names)
  return { afterMs, heldAtKill, applied: names.length === OLD.length ? 'old' : 'all' }
}

/** The killed database, restarted: the server answers, each migration once, a fresh schema, every row. */
async function expectWhole(target: Target, fresh: Target, token: string, base: string): Promise<void> {
  expect(await target.applied()).toEqual(migrationNames())
  expect(await target.schema()).toBe(await fresh.schema())
  expect(await target.integrity()).toEqual(['ok'])
  expect(await target.counts()).toEqual(expectedCounts(SIZE))
  const list = await call(base, 'GET', '/scim/v2/Users?count=1', token)
  expect(list.status).toBe(200)
  expect(list.json.totalResults).toBe(SIZE.users)
  for (const i of [0, 12_345, SIZE.users - 1]) {
    const u = await call(base, 'GET', `/scim/v2/Users/${userId(i)}`, token)
    expect(u.status).toBe(200)
    expect(u.json.userName).toBe(userName(i))
    const groups = (u.json.groups as { value: string }[]).map((g) => g.value).sort()
    expect(groups).toEqual(groupsOf(i, SIZE).map(groupId).sort())
  }
  const g = await call(base, 'GET', `/scim/v2/Groups/${groupId(7)}`, token)
  expect(g.status).toBe(200)
  expect((g.json.members as unknown[]).length).toBe(SIZE.membersPerGroup)
  const byName = await call(base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName(4321).toUpperCase()}"`)}`, token)
  expect(byName.json.Resources?.map((r) => r.id)).toEqual([userId(4321)])
}

interface Store {
  readonly name: string
  /** The old database with its rows, and a token of its organization. */
  build(): Promise<{ target: Target; token: string }>
  /** A database migrated by a server from nothing. */
  fresh(): Promise<Target>
}

const scratch = mkdtempSync(join(tmpdir(), 'roster-migration-kill-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const stores: Store[] = [
  {
    name: 'sqlite',
    build: () => buildSqlite(join(scratch, 'old.db'), SIZE),
    fresh: async () => sqliteTarget(join(scratch, 'fresh.db')),
  },
  ...(adminUrl ? [{
    name: 'postgres',
    build: () => buildPostgres(adminUrl, `roster_kill_${randomBytes(4).toString('hex')}`, SIZE),
    fresh: () => emptyPostgres(adminUrl, `roster_kill_fresh_${randomBytes(4).toString('hex')}`),
  }] : []),
]

describe.each(stores)('kill -9 during a migration ($name)', (store) => {
  it('each kill leaves the old schema or the new one; a restart finishes it once, with every row; two processes then start at once', async () => {
    const targets: Target[] = []
    const procs: Proc[] = []
    try {
      // The old database itself is never started: each run gets an identical copy of it.
      const { target: old, token } = await store.build()
      targets.push(old)
      const copy = async () => {
        const t = await old.copy()
        targets.push(t)
        return t
      }
      const fresh = await store.fresh()
      targets.push(fresh)

      const migrationMs = await measure(await copy())
      const killed: { target: Target; kill: Kill }[] = []
      for (const f of KILL_AT) {
        const target = await copy()
        killed.push({ target, kill: await killDuring(target, Math.round(f * migrationMs)) })
      }
      console.log(`[migration-kill] ${store.name}: an uninterrupted migration held its lock ${migrationMs} ms; kills: ${JSON.stringify(killed.map((k) => k.kill))}`)
      // Not vacuous: some kill found the migration running, and it was undone (also what two
      // processes then start on at once, below).
      expect(killed.filter(({ kill }) => kill.heldAtKill && kill.applied === 'old').length).toBeGreaterThan(0)

      // The reference schema: a database a server migrated from nothing.
      const empty = await spawnServe(fresh)
      procs.push(empty)
      expect(await healthy(empty.base, { proc: empty.proc }), empty.stderr()).toBe(true)
      // Each killed database restarted: the first one killed mid-migration by two processes at once.
      const pairAt = killed.findIndex(({ kill }) => kill.heldAtKill && kill.applied === 'old')
      for (const [i, { target }] of killed.entries()) {
        const started = await Promise.all(Array.from({ length: i === pairAt ? 2 : 1 }, () => spawnServe(target)))
        procs.push(...started)
        for (const p of started) expect(await healthy(p.base, { proc: p.proc }), p.stderr()).toBe(true)
        await expectWhole(target, fresh, token, started[0]?.base ?? '')
        for (const p of started) await stop(p, 'SIGTERM')
      }
    } finally {
      for (const p of procs) await stop(p, 'SIGKILL')
      for (const t of targets) await t.drop()
    }
  }, 170_000)
})
