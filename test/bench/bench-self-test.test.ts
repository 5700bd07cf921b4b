// The benchmark's self-test against its in-memory fixture (bench/fake-scim-server.ts, not
// Roster): several organizations with their own tokens, two server addresses taken in turn,
// capped phases. Asserts only that every check passed and which checks ran, never a timing.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseOptions, UsageError } from '../../bench/args.ts'
import { freePort } from '../helpers/free-port.ts'
import { healthy } from '../helpers/spawned-server.ts'

const ROOT = join(import.meta.dirname, '../..')
const run = promisify(execFile)

describe('bench options', () => {
  it('keep the single-organization defaults', () => {
    const o = parseOptions(['--spawn'])
    expect(o).toMatchObject({ orgs: 1, servers: 1, base: [], pid: [], maxRequests: null, users: 20000, members: 5000 })
  })

  it('refuse what cannot run', () => {
    expect(() => parseOptions(['--base', 'http://x', '--orgs', '3'])).toThrow(UsageError)
    expect(() => parseOptions(['--spawn', '--servers', '2', '--database', 'sqlite:/tmp/x.db'])).toThrow(/postgres/)
    expect(() => parseOptions(['--spawn', '--orgs', '10', '--users', '1000', '--members', '200'])).toThrow(/--users \/ --orgs \(100\)/)
    expect(() => parseOptions(['--servers', '2', '--base', 'http://x', '--token', 't'])).toThrow(UsageError)
  })
})

describe('bench self-test: three organizations, two addresses', () => {
  let server: ChildProcess
  let dir = ''
  const ports: number[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-bench-test-'))
    ports.push(await freePort(), await freePort())
    server = spawn(process.execPath, ['--import', 'tsx', 'bench/fake-scim-server.ts', '--port', String(ports[0]), '--port', String(ports[1])], { cwd: ROOT, stdio: 'ignore' })
    for (const port of ports) expect(await healthy(`http://127.0.0.1:${port}`, { proc: server })).toBe(true)
  })

  afterAll(() => {
    server.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })

  it('passes every check, including cross-organization isolation', async () => {
    const tokens = join(dir, 'tokens.jsonl')
    writeFileSync(tokens, ['a', 'b', 'c'].map((t) => JSON.stringify({ orgId: t, tenantUrl: '/scim/v2', token: t })).join('\n') + '\n')
    const out = join(dir, 'out.json')
    const args = [
      '--import', 'tsx', 'bench/run.ts',
      '--base', `http://127.0.0.1:${ports[0]}/scim/v2`, '--base', `http://127.0.0.1:${ports[1]}/scim/v2`,
      '--orgs', '3', '--tokens', tokens, '--users', '1500', '--groups', '2', '--members', '300',
      '--max-requests', '600', '--list-passes', '1', '--concurrency', '8', '--json', out,
    ]
    await run(process.execPath, args, { cwd: ROOT })
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { checks: { name: string; pass: boolean }[]; phases: { name: string; count: number }[] }
    expect(doc.checks.filter((c) => !c.pass)).toEqual([])
    expect(doc.checks.map((c) => c.name)).toContain("cross-org: another organization's userName eq finds nothing")
    const count = (name: string) => doc.phases.find((p) => p.name === name)?.count
    expect(count('create')).toBe(1500)
    expect(count('get')).toBe(600)
    expect(count('group-create')).toBe(6)
  }, 60_000)
})
