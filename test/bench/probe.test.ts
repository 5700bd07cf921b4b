// bench:probe (bench/probe.ts): node:http's client against the bare ceiling server, the machine's
// speed this hour. Asserts what it reports and that it refuses bad arguments, never a rate.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'roster-bench-probe-test-'))
const run = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/probe.ts', ...args], { cwd: ROOT })

describe('bench:probe', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('drives the bare server with node:http\'s client and writes what it measured', async () => {
    const out = join(dir, 'probe.json')
    const { stdout } = await run('--requests', '600', '--warmup', '50', '--concurrency', '4', '--json', out)
    const result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>
    expect(result).toMatchObject({ requests: 600, concurrency: 4 })
    expect(typeof result.at).toBe('string')
    expect(result.nodeHttpCeiling).toBeGreaterThan(0)
    expect(stdout).toContain(`${String(result.nodeHttpCeiling)} requests/s`)
  }, 60_000)

  it('refuses a count that is not a whole number above 0 (exit 2)', async () => {
    await expect(run('--requests', '0')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--requests') })
    await expect(run('--concurrency', 'lots')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--concurrency') })
  }, 60_000)
})
