// bench:gc (bench/gc.ts) on a few thousand requests of each phase: the figures it reports come
// from the server's own --trace-gc lines. Asserts counts and that the lines were read (a few
// thousand creates allocate past the young generation at least once), never a rate or a time.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'roster-bench-gc-test-'))

interface Figures {
  phase: string; requests: number; perSecond: number; scavenges: number; scavengeUsPerRequest: number
  markCompacts: number; markCompactUsPerRequest: number; promotedMiBPerScavenge: number | null
}

async function gc(phase: string, requests: number): Promise<Figures> {
  const out = join(dir, `${phase}.json`)
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/gc.ts', '--phase', phase, '--requests', String(requests), '--warmup', '200', '--json', out], { cwd: ROOT })
  return JSON.parse(readFileSync(out, 'utf8')) as Figures
}

describe('bench:gc', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('measures creates: the main thread\'s scavenges during them, their time and what they promoted', async () => {
    const f = await gc('create', 3_000)
    expect(f).toMatchObject({ phase: 'create', requests: 3_000 })
    expect(f.perSecond).toBeGreaterThan(0)
    // About 70 KB a create against a young generation of at most 16 MiB: several scavenges.
    expect(f.scavenges).toBeGreaterThan(1)
    expect(f.scavengeUsPerRequest).toBeGreaterThan(0)
    expect(f.promotedMiBPerScavenge).not.toBeNull()
    expect(f.markCompacts).toBeGreaterThanOrEqual(0)
  }, 120_000)

  it('measures GETs the same way, and refuses a phase it does not know', async () => {
    const f = await gc('get', 2_000)
    expect(f).toMatchObject({ phase: 'get', requests: 2_000 })
    expect(f.perSecond).toBeGreaterThan(0)
    await expect(gc('delete', 10)).rejects.toMatchObject({ code: 2 })
  }, 120_000)
})
