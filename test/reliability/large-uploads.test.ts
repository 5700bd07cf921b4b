// Bodies larger than the server takes (docs/architecture.md INP-5; OWASP API Security Top 10
// 2023, API4 "Unrestricted Resource Consumption"; RFC 7644 §3.12: 413 with a SCIM error): one byte
// over ROSTER_MAX_BODY_BYTES, 10 MB declared by Content-Length, 10 MB chunked (no length known
// in advance), and 50 uploads of 10 MB at once. Each gets 413 with a SCIM body, the server reads
// at most a bounded part of each (docs/security.md, "Input limits") and never holds one whole, its
// memory stays near where it was, and the next ordinary request is served. Against a spawned
// server on a SQLite file, so that its resident memory can be read from /proc.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededSqliteServer } from './lib/seed.ts'
import { call, type Server } from '../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const LIMIT = 1024 * 1024
const TEN_MB = 10 * 1000 * 1000
const PIECE = 256 * 1024

interface Upload { status: number; text: string }

/**
 * Sends a POST /Users of `size` bytes, in PIECE-sized writes, declared by Content-Length or sent
 * chunked, and reads what comes back until the server closes or has answered. Write errors are
 * expected once the server has answered and stopped reading; what counts is what was read.
 */
function upload(port: number, token: string, size: number, chunked: boolean): Promise<Upload> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let settled = false
    const done = () => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text })
    }
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(text.slice(0, end))?.[1]
      if (end >= 0 && len !== undefined && Buffer.byteLength(text, 'latin1') >= end + 4 + Number(len)) done()
    })
    socket.on('error', () => undefined)
    socket.on('close', done)
    setTimeout(done, 60_000)
    const head = [
      'POST /scim/v2/Users HTTP/1.1', 'Host: 127.0.0.1', `authorization: Bearer ${token}`, 'content-type: application/scim+json',
      chunked ? 'transfer-encoding: chunked' : `content-length: ${size}`, '', '',
    ].join('\r\n')
    const piece = Buffer.alloc(PIECE, 'x')
    let sent = 0
    const more = () => {
      if (socket.destroyed || settled) return
      if (sent >= size) return void (chunked ? socket.write('0\r\n\r\n') : undefined)
      const n = Math.min(PIECE, size - sent)
      const body = n === PIECE ? piece : piece.subarray(0, n)
      const bytes = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), body, Buffer.from('\r\n')]) : body
      sent += n
      if (socket.write(bytes)) setImmediate(more)
      else socket.once('drain', more)
    }
    socket.on('connect', () => {
      socket.write(head)
      more()
    })
  })
}

describe('large uploads on sqlite', () => {
  let s: Server
  let close = async () => {}
  let token = ''

  beforeAll(async () => {
    ;({ server: s, close, tokens: [token = ''] } = await seededSqliteServer('uploads', ['uploader'], { ROSTER_MAX_BODY_BYTES: String(LIMIT) }))
  }, 60_000)

  afterAll(() => close())

  const tooLarge = (u: Upload) => {
    expect(u.status, u.text.slice(0, 300)).toBe(413)
    expect(u.text).toContain('"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"]')
    expect(u.text).toContain('"status":"413"')
  }
  const served = async () => {
    const r = await call(s.base, 'POST', '/scim/v2/Users', token, { schemas: [USER], userName: `after${Date.now()}${Math.random()}@example.com` })
    expect(r.status).toBe(201)
  }

  it('one byte over the limit, 10 MB by Content-Length and 10 MB chunked: 413 with a SCIM body each, and the next request is served', async () => {
    tooLarge(await upload(s.port, token, LIMIT + 1, false))
    await served()
    tooLarge(await upload(s.port, token, TEN_MB, false))
    await served()
    tooLarge(await upload(s.port, token, TEN_MB, true))
    await served()
  }, 60_000)

  it('50 uploads of 10 MB at once: 413 each, memory near where it was, the next request served', async () => {
    const before = s.rssKiB() ?? 0
    let peak = before
    const sampler = setInterval(() => {
      peak = Math.max(peak, s.rssKiB() ?? 0)
    }, 50)
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => upload(s.port, token, TEN_MB, i % 2 === 0)))
    clearInterval(sampler)
    const after = s.rssKiB() ?? 0
    for (const a of answers) tooLarge(a)
    await served()
    console.log(`[uploads] 50 × 10 MB: server RSS ${(before / 1024).toFixed(1)} MiB before, peak ${(peak / 1024).toFixed(1)} MiB, ${(after / 1024).toFixed(1)} MiB after`)
    // 500 MB were sent; what the server held of them at once is a few pieces a connection. The
    // bound is loose (garbage collection decides when read buffers go back) but far below one
    // upload held whole per connection, which would be 500 MB.
    expect(peak - before).toBeLessThan(150 * 1024)
  }, 120_000)
})
