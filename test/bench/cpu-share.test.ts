// The benchmark's CPU accounting (bench/rss.ts, bench/pool.ts): a phase reports the server's CPU
// (every thread, and the main thread alone) from /proc, and the client's own. Here the "server"
// is this test's process, which spins its main thread; only the accounting's shape is asserted,
// never a rate.
import { describe, expect, it } from 'vitest'
import { Phase, summarize } from '../../bench/pool.ts'
import { RssSampler } from '../../bench/rss.ts'

const spin = (ms: number) => {
  const end = Date.now() + ms
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  return x
}

describe.runIf(process.platform === 'linux')('bench CPU accounting', () => {
  it('tells the main thread apart from the whole process, and the client from both', () => {
    const server = new RssSampler(process.pid)
    const phase = new Phase('spin', { request: () => Promise.reject(new Error('unused')) })
    server.markPhase()
    phase.start()
    spin(300)
    phase.finish()
    const result = summarize(phase, 1, [server.phasePeakMiB()], [server.phaseCpu()])
    // 300 ms of spinning is 30 clock ticks of this thread: never zero.
    expect(result.cpu.serverMainPct).toBeGreaterThan(0)
    // The process's ticks count too (never below its thread's: bench/rss.ts reads them around the thread's).
    expect(result.cpu.serverPct).toBeGreaterThan(0)
    expect(result.cpu.clientPct).toBeGreaterThan(0)
  })

  it('reports the client alone when no server is sampled, and nothing for a process that is gone', () => {
    const phase = new Phase('none', { request: () => Promise.reject(new Error('unused')) })
    phase.start()
    phase.finish()
    expect(summarize(phase, 1, [], []).cpu).toEqual({ clientPct: phase.clientCpuPct })
    const gone = new RssSampler(2 ** 22 + 1)
    gone.markPhase()
    expect(gone.phaseCpu()).toBeNull()
  })
})
