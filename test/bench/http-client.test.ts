// The benchmark's HTTP/1.1 client (bench/http-client.ts) against real servers on loopback: the
// framings it must read, keep-alive and its limits, and failures it must report.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { dechunk, HttpClient } from '../../bench/http-client.ts'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => {
    if ('closeAllConnections' in server) (server as http.Server).closeAllConnections()
    server.close(() => resolve())
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function client(base: string, concurrency = 4, token: string | null = 'tok'): HttpClient {
  const c = new HttpClient(`${base}/scim/v2`, token, concurrency)
  closers.push(async () => c.close())
  return c
}

describe('bench HTTP client', () => {
  it('sends method, path, headers and a JSON body, and reads a Content-Length answer', async () => {
    const seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string }[] = []
    const server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body })
        res.writeHead(201, { 'content-type': 'application/scim+json' })
        res.end(JSON.stringify({ id: 'u1', name: 'Zoë' }))
      })
    })
    const c = client(await listen(server))
    const r = await c.request('POST', '/Users?x=1', { userName: 'ana@example.com' })
    expect(r.status).toBe(201)
    expect(r.json).toEqual({ id: 'u1', name: 'Zoë' })
    expect(r.ms).toBeGreaterThan(0)
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.url).toBe('/scim/v2/Users?x=1')
    expect(seen[0]?.headers?.authorization).toBe('Bearer tok')
    expect(seen[0]?.headers?.['content-type']).toBe('application/scim+json')
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ userName: 'ana@example.com' })
    const other = await c.request('GET', '/Users/u1', undefined, 'other')
    expect(other.status).toBe(201)
    expect(seen[1]?.headers?.authorization).toBe('Bearer other')
    expect(seen[1]?.headers?.['content-length']).toBeUndefined()
  })

  it('reads chunked answers, answers without a body, and one that runs to the close', async () => {
    const server = http.createServer((req, res) => {
      req.resume()
      if (req.url?.endsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"members":[')
        setTimeout(() => res.end('1,2,3]}'), 20)
      } else {
        res.writeHead(204)
        res.end()
      }
    })
    const base = await listen(server)
    const c = client(base)
    const chunked = await c.request('GET', '/chunked')
    expect(chunked.json).toEqual({ members: [1, 2, 3] })
    const empty = await c.request('DELETE', '/Users/x')
    expect(empty).toMatchObject({ status: 204, body: '' })

    const raw = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nto the end'))
    })
    const unframed = await client(await listen(raw)).request('GET', '/')
    expect(unframed).toMatchObject({ status: 200, body: 'to the end' })
  })

  it('keeps at most `concurrency` connections and reuses them', async () => {
    let sockets = 0
    const server = http.createServer((req, res) => {
      req.resume()
      setTimeout(() => res.end('{}'), 5)
    })
    server.on('connection', () => sockets++)
    const c = client(await listen(server), 3)
    const answers = await Promise.all(Array.from({ length: 30 }, () => c.request('GET', '/')))
    expect(answers.every((r) => r.status === 200)).toBe(true)
    expect(sockets).toBe(3)
    await c.request('GET', '/')
    expect(sockets).toBe(3)
  })

  it('opens a new connection after `Connection: close` and before the server\'s keep-alive timeout', async () => {
    let sockets = 0
    const server = http.createServer((req, res) => {
      req.resume()
      if (req.url?.endsWith('/close')) res.setHeader('connection', 'close')
      res.end('{}')
    })
    server.keepAliveTimeout = 1_200 // announced as timeout=1: the client keeps no idle socket
    server.on('connection', () => sockets++)
    const c = client(await listen(server), 1)
    await c.request('GET', '/close')
    await c.request('GET', '/')
    expect(sockets).toBe(2)
    await new Promise((r) => setTimeout(r, 50))
    await c.request('GET', '/')
    expect(sockets).toBe(3)
  })

  it('rejects a request whose connection the server drops mid-answer, and goes on with the next', async () => {
    const server = http.createServer((req, res) => {
      req.resume()
      if (req.url?.endsWith('/drop')) {
        res.writeHead(200, { 'content-length': '100' })
        res.write('{"partial":')
        setTimeout(() => req.socket.destroy(), 10)
      } else {
        res.end('{"ok":true}')
      }
    })
    const c = client(await listen(server), 1)
    await expect(c.request('GET', '/drop')).rejects.toThrow(/hang up|ECONNRESET/)
    expect((await c.request('GET', '/')).json).toEqual({ ok: true })
  })

  it('dechunk waits for the last chunk and its empty line, and reads chunk extensions', () => {
    const whole = Buffer.from('5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    expect(dechunk(whole, 0)?.toString()).toBe('hello world')
    expect(dechunk(whole.subarray(0, whole.length - 2), 0)).toBeNull()
    expect(dechunk(whole.subarray(0, 12), 0)).toBeNull()
  })
})
