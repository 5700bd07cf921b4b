// Slowloris at scale (docs/architecture.md NET-2; Node.js CVE-2018-12122; OWASP API Security Top
// 10 2023, API4): 5,000 connections each sending a header byte at a time, then 5,000 idle
// keep-alive connections, against one spawned server on a SQLite file. Each attacking connection
// is closed by the server at the configured headers or keep-alive timeout, the process survives,
// its open file descriptors come back to where they were, and a legitimate client is served
// throughout (its latencies printed, never asserted). slow-clients.test.ts covers one slow
// request of each kind with its exact answer; this covers the numbers.
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededSqliteServer } from './lib/seed.ts'
import { call, type Server } from '../helpers/spawned-server.ts'

const SOCKETS = 5_000
const HEADERS_TIMEOUT_MS = 2_000
const KEEP_ALIVE_TIMEOUT_MS = 1_000
/** How long after the timeout a socket may still be open before the test calls it not closed. */
const SLACK_MS = 6_000

interface Attacker { socket: Socket; closedAt: number | null }

/** Opens `n` connections, a few hundred at a time, each doing `start` once connected. */
async function open(port: number, n: number, start: (s: Socket) => void): Promise<Attacker[]> {
  const all: Attacker[] = []
  for (let i = 0; i < n; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, n - i) }, () => new Promise<void>((resolve) => {
      const a: Attacker = { socket: connect(port, '127.0.0.1'), closedAt: null }
      a.socket.on('connect', () => {
        start(a.socket)
        resolve()
      })
      a.socket.on('error', () => resolve())
      a.socket.on('close', () => {
        a.closedAt = Date.now()
        resolve()
      })
      a.socket.resume()
      all.push(a)
    })))
  }
  return all
}

describe('slowloris at scale on sqlite', () => {
  let s: Server
  let close = async () => {}
  let token = ''

  beforeAll(async () => {
    ;({ server: s, close, tokens: [token = ''] } = await seededSqliteServer('slowloris', ['bystander'],
      { ROSTER_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), ROSTER_REQUEST_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS * 2), ROSTER_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS) }))
  }, 60_000)

  afterAll(() => close())

  /** A legitimate client's GETs, one after another, until `until` resolves; their times in ms. */
  async function bystander(until: Promise<unknown>): Promise<number[]> {
    let done = false
    void until.then(() => (done = true))
    const ms: number[] = []
    while (!done) {
      const t0 = performance.now()
      const r = await call(s.base, 'GET', '/scim/v2/Users?count=1', token)
      ms.push(performance.now() - t0)
      expect(r.status).toBe(200)
      await new Promise((r) => setTimeout(r, 20))
    }
    return ms
  }
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? 0

  it(`${SOCKETS} connections sending their headers a byte at a time are each closed at the headers timeout; descriptors come back; a client is served throughout`, async () => {
    const fdsBefore = s.openFds() ?? 0
    const attack = (async () => {
      const attackers = await open(s.port, SOCKETS, (socket) => {
        socket.write('GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
        const drip = setInterval(() => (socket.destroyed ? clearInterval(drip) : socket.write('a')), 500)
        socket.on('close', () => clearInterval(drip))
      })
      const opened = Date.now()
      const fdsDuring = s.openFds() ?? 0
      while (attackers.some((a) => a.closedAt === null) && Date.now() - opened < HEADERS_TIMEOUT_MS + SLACK_MS) await new Promise((r) => setTimeout(r, 100))
      return { attackers, fdsDuring }
    })()
    const latencies = await bystander(attack)
    const { attackers, fdsDuring } = await attack
    const stillOpen = attackers.filter((a) => a.closedAt === null)
    for (const a of stillOpen) a.socket.destroy()
    // Let the server's side of the last ones go.
    await new Promise((r) => setTimeout(r, 500))
    const fdsAfter = s.openFds() ?? 0
    console.log(`[slowloris] ${SOCKETS} slow-header connections: server fds ${fdsBefore} before, ${fdsDuring} during, ${fdsAfter} after; bystander ${latencies.length} GETs, p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`)
    expect(stillOpen).toHaveLength(0)
    expect(fdsDuring).toBeGreaterThan(fdsBefore + SOCKETS / 2)
    expect(fdsAfter).toBeLessThan(fdsBefore + 50)
    expect(s.proc.exitCode).toBeNull()
  }, 120_000)

  it(`${SOCKETS} idle keep-alive connections are each closed at the keep-alive timeout; descriptors come back; a client is served throughout`, async () => {
    const fdsBefore = s.openFds() ?? 0
    const attack = (async () => {
      const answered: Socket[] = []
      const attackers = await open(s.port, SOCKETS, (socket) => {
        // One request, then nothing: the connection is kept alive, idle.
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
        socket.once('data', () => answered.push(socket))
      })
      const opened = Date.now()
      while (attackers.some((a) => a.closedAt === null) && Date.now() - opened < KEEP_ALIVE_TIMEOUT_MS + SLACK_MS) await new Promise((r) => setTimeout(r, 100))
      return { attackers, answered: answered.length }
    })()
    const latencies = await bystander(attack)
    const { attackers, answered } = await attack
    const stillOpen = attackers.filter((a) => a.closedAt === null)
    for (const a of stillOpen) a.socket.destroy()
    await new Promise((r) => setTimeout(r, 500))
    const fdsAfter = s.openFds() ?? 0
    console.log(`[slowloris] ${SOCKETS} idle keep-alive connections (${answered} answered first): server fds ${fdsBefore} before, ${fdsAfter} after; bystander ${latencies.length} GETs, p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`)
    expect(answered).toBe(SOCKETS)
    expect(stillOpen).toHaveLength(0)
    expect(fdsAfter).toBeLessThan(fdsBefore + 50)
    expect(s.proc.exitCode).toBeNull()
  }, 120_000)
})
