// The container image's own steps, outside a container (this machine has no container daemon):
// a production install (`npm ci --omit=dev`, then the build) into a fresh folder, the folder
// made read-only, the server started from it as an unprivileged user with only its data folder
// writable, and a user provisioned through it over SCIM. The native module is copied from this
// checkout instead of compiled (a minute on two cores, offline): scripts/check-production-install.sh
// runs the full `npm ci --omit=dev` with its compilation (CONTRIBUTING.md).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const REPO = join(import.meta.dirname, '../..')
const NOBODY = 65_534
const asRoot = process.getuid?.() === 0

/** Every file of a folder with its size and modification time, to show nothing was written. */
function snapshot(dir: string, into = new Map<string, string>(), base = dir): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) snapshot(p, into, base)
    else {
      const s = statSync(p)
      into.set(p.slice(base.length), `${s.size}:${s.mtimeMs}`)
    }
  }
  return into
}

describe('a production install, read-only, run as an unprivileged user', () => {
  let root = ''
  let app = ''
  let data = ''
  let server: ChildProcess | null = null
  let stderr = ''

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'roster-install-'))
    chmodSync(root, 0o755)
    app = join(root, 'app')
    data = join(root, 'data')
    mkdirSync(data)
    // The repository's files as a clone (or `git archive`) has them, with this checkout's edits.
    const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 })
    for (const f of stdout.split('\0').filter((f) => f !== '' && !f.startsWith('node_modules'))) {
      try {
        mkdirSync(dirname(join(app, f)), { recursive: true })
        copyFileSync(join(REPO, f), join(app, f))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e // deleted in the work tree, not yet in git
      }
    }
    // From npm's cache where it can (the checkout's own install filled it), from the registry otherwise.
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, timeout: 120_000 })
    const native = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'
    mkdirSync(dirname(join(app, native)), { recursive: true })
    copyFileSync(join(REPO, native), join(app, native))
    await run('npm', ['run', 'build'], { cwd: app })
    await run('chmod', ['-R', 'a-w', app])
    if (asRoot) chownSync(data, NOBODY, NOBODY)
  }, 180_000)

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await new Promise((r) => server?.once('exit', r))
    }
    await run('chmod', ['-R', 'u+w', root]).catch(() => undefined)
    rmSync(root, { recursive: true, force: true })
  })

  it('starts, provisions a user over SCIM, stops on SIGTERM, and writes nothing into its own folder', async () => {
    const before = snapshot(app)
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: data, ROSTER_DATABASE_URL: `sqlite:${join(data, 'roster.db')}`, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn',
    }
    // setpriv drops to nobody for good (no groups left); without root the test runs as this user,
    // for whom the read-only folder is read-only too.
    const as = (args: string[]): [string, string[]] => asRoot
      ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', process.execPath, ...args]]
      : [process.execPath, args]
    const bin = join(app, 'bin/roster.js')
    const [cmd, args] = as([bin, 'serve'])
    server = spawn(cmd, args, { cwd: data, env, stdio: ['ignore', 'ignore', 'pipe'] })
    server.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
    const base = `http://127.0.0.1:${port}`
    const up = await healthy(base, { proc: server, timeoutMs: 15_000 })
    // Nothing on standard error but a fresh install's one-time console setup link (docs/console.md).
    expect(stderr.replace(/\nRoster console setup \(one-time link[^\n]*\n\n/, '')).toBe('')
    expect(up).toBe(true)

    const [ocmd, oargs] = as([bin, 'org', 'create', 'Install Check', '--json'])
    const org = JSON.parse((await run(ocmd, oargs, { cwd: data, env })).stdout) as { token: string }
    const post = await fetch(`${base}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada@install.test' }),
    })
    expect(post.status).toBe(201)
    const id = ((await post.json()) as { id: string }).id
    const get = await fetch(`${base}/scim/v2/Users/${id}`, { headers: { authorization: `Bearer ${org.token}` } })
    expect(((await get.json()) as { userName: string }).userName).toBe('ada@install.test')

    server.kill('SIGTERM')
    const code = await new Promise((r) => server?.once('exit', r))
    expect(code).toBe(0)
    expect(snapshot(app)).toEqual(before)
    if (asRoot) expect(statSync(join(data, 'roster.db')).uid).toBe(NOBODY)
  })
})
