// bench:ab (bench/ab.ts) with the same build as A and B, a few hundred requests: both servers
// get every phase's requests in alternating slices and the JSON reports each. Asserts the
// counts and that CPU was read, never a rate or a ratio.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'roster-bench-ab-test-'))

interface Side { requests: number; perSecond: number; loopUs: number; serverUs: number }

describe.runIf(process.platform === 'linux')('bench:ab', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('sends each phase to both builds in turn and reports requests/s and CPU a request for each', async () => {
    const out = join(dir, 'ab.json')
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/ab.ts', '--a', 'bin/roster.js', '--b', 'bin/roster.js', '--creates', '300', '--slice', '100', '--warmup', '100', '--json', out], { cwd: ROOT })
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { phases: { phase: string; A: Side; B: Side; rateBA: number; loopBA: number; stealPct: number | null }[] }
    expect(doc.phases.map((p) => p.phase)).toEqual(['create', 'member-patch', 'get'])
    // 400 users each: 20 groups get 4 PATCHes of 100 new members.
    const expected: Record<string, number> = { create: 300, 'member-patch': 80, get: 600 }
    for (const p of doc.phases) {
      for (const side of [p.A, p.B]) {
        expect(side.requests, p.phase).toBe(expected[p.phase])
        expect(side.perSecond, p.phase).toBeGreaterThan(0)
        expect(side.serverUs, p.phase).toBeGreaterThanOrEqual(side.loopUs)
      }
      // Read from /proc/stat around the phase: a share, whatever the host did meanwhile.
      expect(p.stealPct, p.phase).toBeGreaterThanOrEqual(0)
      expect(p.stealPct, p.phase).toBeLessThanOrEqual(100)
    }
    // The 300 creates and 80 PATCHes took the event loop some clock ticks.
    const create = doc.phases[0] as { A: Side }
    expect(create.A.loopUs + (doc.phases[1] as { A: Side }).A.loopUs).toBeGreaterThan(0)
  }, 120_000)
})
