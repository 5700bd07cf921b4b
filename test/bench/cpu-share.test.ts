// The benchmark's CPU accounting (bench/rss.ts, bench/pool.ts): a phase reports the server's CPU
// (every thread, and the main thread alone) from /proc, and the client's own. Here the "server"
// is this test's process, which spins its main thread; only the accounting's shape is asserted,
// never a rate.
import { describe, expect, it } from 'vitest'
import { Phase, summarize } from '../../bench/pool.ts'
import { parseMachineTicks, RssSampler, stealPct } from '../../bench/rss.ts'

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
    // A few clock ticks, so the machine's counters move and its steal share is known.
    spin(50)
    phase.finish()
    expect(summarize(phase, 1, [], []).cpu).toEqual({ clientPct: phase.clientCpuPct, stealPct: phase.stealPct })
    expect(phase.stealPct).not.toBeNull()
    const gone = new RssSampler(2 ** 22 + 1)
    gone.markPhase()
    expect(gone.phaseCpu()).toBeNull()
  })
})

describe('the machine\'s steal time', () => {
  // proc(5): cpu user nice system idle iowait irq softirq steal guest guest_nice.
  const at = (steal: number, idle: number) => `cpu  1000 10 200 ${idle} 5 0 30 ${steal} 400 0\ncpu0 500 5 100 ${idle / 2} 2 0 15 ${steal / 2} 200 0\nintr 1 2 3\n`

  it('reads the aggregate line, guest time not counted twice', () => {
    expect(parseMachineTicks(at(55, 700))).toEqual({ steal: 55, total: 1000 + 10 + 200 + 700 + 5 + 0 + 30 + 55 })
    expect(parseMachineTicks('cpu0 1 2 3 4 5 6 7 8\n')).toBeNull()
    expect(parseMachineTicks('cpu  1 2 3 4 5 6 7\n')).toBeNull()
  })

  it('is the stolen share of the ticks between two readings', () => {
    // 100 more ticks stolen out of 400 more in all: a quarter.
    expect(stealPct(parseMachineTicks(at(0, 700)), parseMachineTicks(at(100, 1000)))).toBe(25)
    expect(stealPct(parseMachineTicks(at(0, 700)), parseMachineTicks(at(0, 1000)))).toBe(0)
    expect(stealPct(null, parseMachineTicks(at(0, 700)))).toBeNull()
    expect(stealPct(parseMachineTicks(at(0, 700)), parseMachineTicks(at(0, 700)))).toBeNull()
  })
})
