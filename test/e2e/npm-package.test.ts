// The published package: `npm pack` holds what a production install needs (the built server and
// its worker files, the built console, the command, the license) and nothing else of the
// repository; the tarball installed into an empty folder (`npm install --omit=dev`) runs with
// `npx roster serve`, answers /healthz, serves the console, and provisions a user over SCIM; its
// typed client (`roster/client`) loads in plain Node, reads that user, and type-checks in an
// application's TypeScript without a loader.
// The dependencies come from npm's cache where it has them (this checkout's install filled it),
// from the registry otherwise; when that is needed and the registry cannot be reached, the test
// is skipped and says so. The native SQLite module is copied from this checkout instead of
// compiled (a minute on two cores; scripts/check-production-install.sh does the full install).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'

const run = promisify(execFile)
const REPO = join(import.meta.dirname, '../..')
const NATIVE = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'

/** Whether npm's registry answers, for the skip message when an install needed it. */
async function registryReachable(cwd: string): Promise<{ ok: boolean; registry: string }> {
  const registry = (await run('npm', ['config', 'get', 'registry'], { cwd })).stdout.trim()
  const ok = await fetch(new URL('-/ping', registry.endsWith('/') ? registry : `${registry}/`), { signal: AbortSignal.timeout(5_000) }).then(() => true, () => false)
  return { ok, registry }
}

/** Sends SIGTERM to the process group (npx, and the server it started) and waits until none of it is left. */
async function stopGroup(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (alive()) process.kill(-pid, 'SIGTERM')
  for (let i = 0; i < 300 && alive(); i++) await new Promise((r) => setTimeout(r, 100))
}

describe('the npm package', () => {
  const root = mkdtempSync(join(tmpdir(), 'roster-pack-'))
  let server: ChildProcess | null = null
  afterAll(async () => {
    if (server?.pid !== undefined) await stopGroup(server.pid)
    rmSync(root, { recursive: true, force: true })
  })

  it('npm pack holds what production needs; installed with npm install --omit=dev, npx roster serve provisions a user', async (ctx) => {
    // A copy of the checkout as a clone has it (with this work tree's edits), built as `npm pack` builds it (the prepare script).
    const src = join(root, 'src-copy')
    const { stdout: listed } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 })
    for (const f of listed.split('\0').filter((f) => f !== '' && !f.startsWith('node_modules'))) {
      if (!existsSync(join(REPO, f))) continue // deleted in the work tree, not yet in git
      mkdirSync(dirname(join(src, f)), { recursive: true })
      copyFileSync(join(REPO, f), join(src, f))
    }
    symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'), 'dir')
    await run('node', ['scripts/build.mjs'], { cwd: src })
    await run('node', ['scripts/build-console.mjs'], { cwd: src })
    const { stdout: packed } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: src })
    const [pack] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[]
    if (!pack) throw new Error('npm pack printed no package')
    const files = pack.files.map((f) => f.path).sort()
    for (const needed of ['package.json', 'LICENSE', 'README.md', 'bin/roster.js', 'scripts/build.mjs', 'dist/roster.mjs', 'dist/sqlite-worker.mjs', 'dist/sqlite-read-worker.mjs', 'dist/sqlite-log-file.mjs', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/client/api-types.d.ts', 'console/dist/index.html']) {
      expect(files, needed).toContain(needed)
    }
    // Nothing else of the repository: no tests, benchmarks, sources, docs, console sources or data.
    expect(files.filter((f) => !/^(package\.json|LICENSE|README\.md|CHANGELOG\.md|bin\/roster\.js|scripts\/build\.mjs|dist\/|console\/dist\/)/.test(f))).toEqual([])

    const install = join(root, 'install')
    mkdirSync(install)
    writeFileSync(join(install, 'package.json'), JSON.stringify({ name: 'roster-install-check', private: true }))
    try {
      await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(root, pack.filename)], { cwd: install, timeout: 120_000 })
    } catch (e) {
      const { ok, registry } = await registryReachable(install)
      if (!ok) {
        const note = `skipped: npm install needed the registry (${registry}), which cannot be reached: ${String((e as { stderr?: string }).stderr ?? e).slice(0, 300)}`
        console.warn(note)
        ctx.skip(note)
      }
      throw e
    }
    const pkg = join(install, 'node_modules/roster')
    mkdirSync(dirname(join(install, NATIVE)), { recursive: true })
    copyFileSync(join(REPO, NATIVE), join(install, NATIVE))
    expect(existsSync(join(install, 'node_modules/vite'))).toBe(false)

    const data = join(root, 'data')
    mkdirSync(data)
    const port = await freePort()
    // Where bin/roster.js would build a bundle if the package's sources looked newer than its own: it must not.
    const buildDir = join(root, 'no-build')
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: data, npm_config_cache: join(process.env.HOME ?? data, '.npm'), ROSTER_DATABASE_URL: `sqlite:${join(data, 'roster.db')}`,
      HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ROSTER_BUILD_DIR: buildDir, ROSTER_SHUTDOWN_DRAIN_MS: '0',
    }
    // `npx --no`: the package's own command, never one fetched; its own process group, to stop npx and the server together.
    server = spawn('npx', ['--no', 'roster', 'serve'], { cwd: install, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    server.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
    const base = `http://127.0.0.1:${port}`
    let health: Response | null = null
    for (let i = 0; i < 150 && health === null && server.exitCode === null; i++) {
      health = await fetch(`${base}/healthz`).catch(() => null)
      if (health === null) await new Promise((r) => setTimeout(r, 100))
    }
    expect(health?.status, stderr).toBe(200)
    expect((await fetch(`${base}/console/`)).status).toBe(200)

    const org = JSON.parse((await run('npx', ['--no', 'roster', 'org', 'create', 'Package Check', '--json'], { cwd: install, env })).stdout) as { tenantUrl: string; token: string }
    expect(org.tenantUrl).toBe(`${base}/scim/v2`)
    const post = await fetch(`${org.tenantUrl}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada@package.test' }),
    })
    expect(post.status).toBe(201)
    const id = ((await post.json()) as { id: string }).id
    const got = await fetch(`${org.tenantUrl}/Users/${id}`, { headers: { authorization: `Bearer ${org.token}` } })
    expect(((await got.json()) as { userName: string }).userName).toBe('ada@package.test')

    // The typed client, as an application uses it: imported by plain Node (no TypeScript loader) …
    const key = JSON.parse((await run('npx', ['--no', 'roster', 'api-key', 'create', 'app', '--org', 'Package Check', '--scope', 'directory:read', '--json'], { cwd: install, env })).stdout) as { key: string }
    writeFileSync(join(install, 'read.mjs'), `import { createRosterClient } from 'roster/client'
const roster = createRosterClient({ baseUrl: ${JSON.stringify(base)}, apiKey: ${JSON.stringify(key.key)} })
const { data, error } = await roster.GET('/api/v1/orgs/{org}/users', { params: { path: { org: 'Package Check' } } })
process.stdout.write(JSON.stringify({ userNames: data?.data.map((u) => u.userName), error }))
`)
    const read = JSON.parse((await run('node', ['read.mjs'], { cwd: install, env })).stdout) as { userNames?: string[] }
    expect(read.userNames).toEqual(['ada@package.test'])
    // … and type-checked by an application's compiler from the package's declarations: a wrong path is an error.
    writeFileSync(join(install, 'app.ts'), `import { createRosterClient, type ApiUser } from 'roster/client'
const roster = createRosterClient({ baseUrl: 'https://roster.example.com', apiKey: 'key' })
export async function users(): Promise<readonly ApiUser[] | undefined> {
  const { data } = await roster.GET('/api/v1/orgs/{org}/users', { params: { path: { org: 'acme' }, query: { limit: 10 } } })
  return data?.data
}
// @ts-expect-error: no such route
export const nowhere = () => roster.GET('/api/v1/nowhere')
`)
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
    const checked = await run('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(REPO, 'node_modules/@types'), 'app.ts'], { cwd: install }).then(() => '', (e: { stdout?: string }) => e.stdout ?? String(e))
    expect(checked).toBe('')

    await stopGroup(server.pid as number)
    expect(existsSync(buildDir)).toBe(false)
    expect(existsSync(join(pkg, 'dist/roster.mjs'))).toBe(true)
  }, 120_000)
})
