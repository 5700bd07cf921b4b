// Server sampler (--pid): reads /proc/PID/status every 100 ms and keeps the peak VmRSS
// overall and since the last `markPhase()`. VmHWM (the kernel's own high-water mark) is read
// once at the end. It also reads the server's CPU time (/proc/PID/stat: the whole process, and
// /proc/PID/task/PID/stat: its main thread, the event loop) at each phase's start and end, so a
// phase tells how busy the event loop was and what the server's other threads took beside it.
// Linux only; elsewhere, or once the process is gone, samples are skipped.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

/** CPU time a phase took, in % of one core over the phase's wall time. */
export interface CpuShare {
  /** The server process: every thread (event loop, V8's GC helpers, libuv's pool, workers). */
  readonly serverPct: number
  /** The server's main thread alone: the event loop. */
  readonly serverMainPct: number
}

const INTERVAL_MS = 100

export class RssSampler {
  readonly #pid: number
  #timer: NodeJS.Timeout | null = null
  peakKiB = 0
  #phasePeakKiB = 0
  samples = 0
  #cpuAt: { ms: number; proc: number; main: number } | null = null

  constructor(pid: number) {
    this.#pid = pid
  }

  start(): void {
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), INTERVAL_MS)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  markPhase(): void {
    this.#sample()
    this.#phasePeakKiB = 0
    this.#sample()
    this.#cpuAt = this.#cpuNow('start')
  }

  /** The server's CPU since the last markPhase(), or null where /proc cannot be read. */
  phaseCpu(): CpuShare | null {
    const from = this.#cpuAt
    const to = this.#cpuNow('end')
    if (from === null || to === null || to.ms <= from.ms) return null
    const pct = (ticks: number) => Math.round(((ticks * 1000) / TICKS_PER_SECOND / (to.ms - from.ms)) * 100)
    const main = pct(to.main - from.main)
    // The kernel scales each file's utime and stime on its own (cputime_adjust), so the process
    // and its main thread can disagree by a tick: the process is never reported below its thread.
    return { serverPct: Math.max(main, pct(to.proc - from.proc)), serverMainPct: main }
  }

  #cpuNow(at: 'start' | 'end'): { ms: number; proc: number; main: number } | null {
    const ticks = cpuTicksOf(this.#pid, at)
    return ticks === null ? null : { ms: performance.now(), ...ticks }
  }

  /** Peak RSS since the last markPhase(), in MiB. */
  phasePeakMiB(): number {
    this.#sample()
    return toMiB(this.#phasePeakKiB)
  }

  peakMiB(): number {
    return toMiB(this.peakKiB)
  }

  /** The kernel's VmHWM (peak resident set) for the process, in MiB, or null if unreadable. */
  hwmMiB(): number | null {
    const kib = readStatus(this.#pid, 'VmHWM')
    return kib === null ? null : toMiB(kib)
  }

  #sample(): void {
    const kib = readStatus(this.#pid, 'VmRSS')
    if (kib === null) return
    this.samples++
    if (kib > this.peakKiB) this.peakKiB = kib
    if (kib > this.#phasePeakKiB) this.#phasePeakKiB = kib
  }
}

/**
 * The process's and its main thread's ticks, read so that the thread's span lies within the
 * process's: the process first at a span's start, last at its end.
 */
export function cpuTicksOf(pid: number, at: 'start' | 'end'): { proc: number; main: number } | null {
  const procFile = `/proc/${pid}/stat`
  const mainFile = `/proc/${pid}/task/${pid}/stat`
  let proc: number | null
  let main: number | null
  if (at === 'start') {
    proc = cpuTicks(procFile)
    main = cpuTicks(mainFile)
  } else {
    main = cpuTicks(mainFile)
    proc = cpuTicks(procFile)
  }
  return proc === null || main === null ? null : { proc, main }
}

/** The whole machine's CPU ticks (every core, from /proc/stat), and those stolen from it. */
export interface MachineTicks {
  /** Time the hypervisor ran other guests while this machine's cores had work (`steal`). */
  readonly steal: number
  /** user + nice + system + idle + iowait + irq + softirq + steal: every tick of every core. */
  readonly total: number
}

/**
 * The aggregate `cpu` line of /proc/stat (proc(5)): guest time is already inside user and nice,
 * so it is not added again. Null when the line is missing or has no steal field (kernels before
 * 2.6.11).
 */
export function parseMachineTicks(stat: string): MachineTicks | null {
  const line = /^cpu\s+(.*)$/m.exec(stat)?.[1]
  if (line === undefined) return null
  const f = line.trim().split(/\s+/).slice(0, 8).map(Number)
  if (f.length < 8 || f.some((n) => !Number.isFinite(n))) return null
  return { steal: f[7] as number, total: f.reduce((n, v) => n + v, 0) }
}

/** This machine's ticks now, or null off Linux. */
export function machineTicks(): MachineTicks | null {
  try {
    return parseMachineTicks(readFileSync('/proc/stat', 'utf8'))
  } catch {
    return null
  }
}

/**
 * The share (%) of the machine's CPU time between two readings that the hypervisor gave to other
 * guests: near 0 on a quiet host; on a contended one, a reason a run's rates are low. Null when
 * either reading is missing or no time passed.
 */
export function stealPct(from: MachineTicks | null, to: MachineTicks | null): number | null {
  if (from === null || to === null || to.total <= from.total) return null
  return Math.round(((to.steal - from.steal) * 100) / (to.total - from.total))
}

/** Linux's USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every common build). */
export const TICKS_PER_SECOND = 100

/** utime + stime of a /proc stat file, or null. Fields count from after the ')' that ends comm (which may hold spaces). */
function cpuTicks(file: string): number | null {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return null
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // After comm: state is field 3 of proc(5), so utime (14) and stime (15) are at 11 and 12 here.
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null
}

function readStatus(pid: number, key: string): number | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text)
  return match?.[1] === undefined ? null : Number(match[1])
}

function toMiB(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10
}
