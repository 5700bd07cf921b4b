// bench:mail (bench/mail.ts) runs end to end on a small count and reports each figure; only the
// report's shape is asserted, never a time.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')

describe('bench:mail', () => {
  it('builds, composes and writes the messages, and reports the cost of each way', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/mail.ts', '--messages', '100'], { cwd: ROOT })
    expect(stdout).toMatch(/^messages: 100$/m)
    for (const label of ['template alone', 'template \\+ mime\\.ts', "template \\+ nodemailer's composer"]) {
      const m = new RegExp(`^${label}: +(\\d+) µs CPU a message$`, 'm').exec(stdout)
      expect(m, label).not.toBeNull()
    }
    const outbox = /^outbox \(\.eml, fsynced\), 5 at once: (\d+) messages\/s, (\d+) µs CPU a message/m.exec(stdout)
    expect(Number(outbox?.[1])).toBeGreaterThan(0)
  }, 60_000)

  it('refuses a count too small to measure', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/mail.ts', '--messages', '5'], { cwd: ROOT })
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('--messages must be a whole number of at least 100') })
  }, 60_000)
})
