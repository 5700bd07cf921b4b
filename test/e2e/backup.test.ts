// `roster backup` while the server takes writes, then `roster restore` into another database:
// every write answered before the backup started is in the restored database, with the log
// file beside it. PostgreSQL is pointed to its own tools.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { BIN, healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

const fail = (args: string[], env: NodeJS.ProcessEnv) => run('node', [BIN, ...args], { env }).then(
  () => ({ code: 0, stderr: '' }), (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }))

describe('roster backup and restore (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-backup-'))
  let server: ChildProcess | null = null
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await new Promise((r) => server?.once('exit', r))
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('takes a consistent backup under write load that restores with every write acknowledged before it', async () => {
    const port = await freePort()
    const env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'live.db')}`, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1' }
    const org = JSON.parse((await run('node', [BIN, 'org', 'create', 'backup', '--json'], { env })).stdout) as { orgId: string; token: string }
    server = spawn('node', [BIN, 'serve'], { env, stdio: 'ignore' })
    expect(await healthy(`http://127.0.0.1:${port}`, { proc: server })).toBe(true)

    const acknowledged: string[] = []
    let n = 0
    let stop = false
    const worker = async () => {
      while (!stop && n < 5_000) {
        const userName = `u${++n}@backup.test`
        const r = await fetch(`http://127.0.0.1:${port}/scim/v2/Users`, {
          method: 'POST', headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName }),
        })
        await r.arrayBuffer()
        expect(r.status).toBe(201)
        acknowledged.push(userName)
      }
    }
    const workers = Array.from({ length: 6 }, worker)
    // A read whose log row goes to the log file.
    expect((await fetch(`http://127.0.0.1:${port}/scim/v2/Users?count=1`, { headers: { authorization: `Bearer ${org.token}` } })).status).toBe(200)
    while (acknowledged.length < 100) await new Promise((r) => setTimeout(r, 20))

    const before = [...acknowledged]
    const copy = join(dir, 'copy.db')
    const result = JSON.parse((await run('node', [BIN, 'backup', copy, '--json'], { env })).stdout) as { files: { to: string; bytes: number }[] }
    const during = acknowledged.length
    stop = true
    await Promise.all(workers)
    // Writes went on while the backup ran (the server was not paused).
    expect(during).toBeGreaterThan(before.length)
    expect(result.files.map((f) => f.to)).toEqual([copy, join(dir, 'copy-log.db')])
    expect(existsSync(join(dir, 'copy-log.db'))).toBe(true)
    // Never over an existing file.
    expect(await fail(['backup', copy], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_BACKUP_TARGET') })

    const restoredEnv = { ...env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'restored.db')}` }
    await run('node', [BIN, 'restore', copy], { env: restoredEnv })
    // A database that exists is replaced only with --force.
    expect(await fail(['restore', copy], restoredEnv)).toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_RESTORE_EXISTS') })
    const listed = JSON.parse((await run('node', [BIN, 'user', 'list', org.orgId, '--json', '--count', '100000'], { env: restoredEnv, maxBuffer: 64 * 1024 * 1024 })).stdout) as { users: { userName: string }[] }
    const present = new Set(listed.users.map((u) => u.userName))
    expect(before.filter((u) => !present.has(u))).toEqual([])
    expect(present.size).toBeLessThanOrEqual(acknowledged.length)
    const log = JSON.parse((await run('node', [BIN, 'log', org.orgId, '--json', '--status', '200'], { env: restoredEnv })).stdout) as { items: unknown[] }
    expect(log.items.length).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it('refuses what is not a backup, and points PostgreSQL to its own tools', async () => {
    const env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'other.db')}` }
    const junk = join(dir, 'junk.db')
    writeFileSync(junk, 'not a database'.repeat(100))
    expect(await fail(['restore', junk], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_RESTORE_SOURCE') })
    expect(existsSync(join(dir, 'other.db'))).toBe(false)
    expect(await fail(['backup', join(dir, 'pg.db')], { ...env, ROSTER_DATABASE_URL: 'postgres://roster@127.0.0.1:1/roster' }))
      .toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_BACKUP_POSTGRES') })
  })
})
