// Server memory sampler (--pid): reads /proc/PID/status every 100 ms and keeps the peak VmRSS
// overall and since the last `markPhase()`. VmHWM (the kernel's own high-water mark) is read
// once at the end. Linux only; elsewhere, or once the process is gone, samples are skipped.
import { readFileSync } from 'node:fs'

const INTERVAL_MS = 100

export class RssSampler {
  readonly #pid: number
  #timer: NodeJS.Timeout | null = null
  peakKiB = 0
  #phasePeakKiB = 0
  samples = 0

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
