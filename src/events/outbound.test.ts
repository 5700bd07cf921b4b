import type { LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EXCERPT_BYTES, classifyAddress, closeAgents, postWebhook, validateWebhookUrl, webhookAgents, type ResolveHost } from './outbound.ts'

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

// A receiver on 127.0.0.1 whose routes are set per test; it records every request it gets.
let server: http.Server
let port: number
let received: Received[]
let routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>

beforeEach(async () => {
  received = []
  routes = {}
  server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      const route = routes[req.url ?? '']
      if (route) route(req, res)
      else res.writeHead(404).end('no such route')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

afterAll(() => closeAgents())

const local = { allowPrivate: true }
const json = { 'content-type': 'application/json', 'webhook-id': 'msg_1' }
const fixedLookup =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }))

describe('postWebhook against a local receiver', () => {
  it('POSTs the body and headers and reports a 2xx', async () => {
    routes['/hook'] = (_req, res) => res.writeHead(204).end()
    const r = await postWebhook(`http://127.0.0.1:${port}/hook`, json, '{"a":1}', local)
    expect(r).toMatchObject({ status: 204, excerpt: '' })
    expect(r.error).toBeUndefined()
    expect(r.durationMs).toBeGreaterThanOrEqual(0)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ method: 'POST', url: '/hook', body: '{"a":1}' })
    expect(received[0]?.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'msg_1', 'content-length': '7' })
  })

  it('reports a 410 with its body, and a Retry-After', async () => {
    routes['/gone'] = (_req, res) => res.writeHead(410, { 'content-type': 'text/plain' }).end('endpoint deleted')
    routes['/busy'] = (_req, res) => res.writeHead(503, { 'retry-after': '120' }).end()
    expect(await postWebhook(`http://127.0.0.1:${port}/gone`, json, '{}', local)).toMatchObject({ status: 410, excerpt: 'endpoint deleted' })
    expect(await postWebhook(`http://127.0.0.1:${port}/busy`, json, '{}', local)).toMatchObject({ status: 503, retryAfter: '120' })
  })

  it('keeps only the first 2 KiB of a large error body', async () => {
    const big = 'x'.repeat(EXCERPT_BYTES - 10) + '0123456789' + 'y'.repeat(1024 * 1024)
    routes['/fail'] = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end(big)
    const r = await postWebhook(`http://127.0.0.1:${port}/fail`, json, '{}', local)
    expect(r.status).toBe(500)
    expect(r.excerpt).toHaveLength(EXCERPT_BYTES)
    expect(r.excerpt.endsWith('0123456789')).toBe(true)
  })

  it('does not follow a redirect', async () => {
    routes['/moved'] = (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end()
    routes['/target'] = (_req, res) => res.writeHead(200).end('followed')
    const r = await postWebhook(`http://127.0.0.1:${port}/moved`, json, '{}', local)
    expect(r.status).toBe(302)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(received.map((x) => x.url)).toEqual(['/moved'])
  })

  it('gives up at the deadline when the receiver never answers', async () => {
    routes['/hang'] = () => undefined
    const r = await postWebhook(`http://127.0.0.1:${port}/hang`, json, '{}', { ...local, timeoutMs: 200 })
    expect(r.status).toBeNull()
    expect(r.error).toMatch(/timed out/)
    expect(r.durationMs).toBeGreaterThanOrEqual(190)
    expect(r.durationMs).toBeLessThan(2000)
    expect(received).toHaveLength(1)
  })

  it('keeps the status when the body is still trickling at the deadline', async () => {
    routes['/slow'] = (_req, res) => {
      res.writeHead(200)
      res.write('partial')
    }
    const r = await postWebhook(`http://127.0.0.1:${port}/slow`, json, '{}', { ...local, timeoutMs: 200 })
    expect(r).toMatchObject({ status: 200, excerpt: 'partial' })
    expect(r.error).toBeUndefined()
  })

  it('reports a closed port as an error, without throwing', async () => {
    const probe = http.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const closedPort = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const r = await postWebhook(`http://127.0.0.1:${closedPort}/hook`, json, '{}', local)
    expect(r.status).toBeNull()
    expect(r.error).toMatch(/ECONNREFUSED/)
  })

  it('reports DNS failures, without throwing', async () => {
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hook.invalid'), { code: 'ENOTFOUND' })
    }
    const r = await postWebhook('http://hook.invalid/x', json, '{}', { ...local, lookup: failing })
    expect(r).toMatchObject({ status: null })
    expect(r.error).toMatch(/DNS lookup for hook\.invalid failed: .*ENOTFOUND/)
  })

  it('connects to the address it vetted, not to a second DNS answer', async () => {
    routes['/hook'] = (_req, res) => res.writeHead(200).end('ok')
    let lookups = 0
    const once: ResolveHost = async () => {
      lookups++
      return [{ address: '127.0.0.1', family: 4 }]
    }
    // hook.test has no DNS record: reaching the receiver proves the injected answer was used.
    const r = await postWebhook(`http://hook.test:${port}/hook`, json, '{}', { ...local, lookup: once })
    expect(r).toMatchObject({ status: 200, excerpt: 'ok' })
    expect(lookups).toBe(1)
    expect(received[0]?.headers.host).toBe(`hook.test:${port}`)
  })
})

describe('the SSRF guard', () => {
  const strict = { allowPrivate: false }

  it('refuses a loopback literal before connecting', async () => {
    routes['/hook'] = (_req, res) => res.writeHead(200).end()
    const r = await postWebhook(`http://127.0.0.1:${port}/hook`, json, '{}', strict)
    expect(r.status).toBeNull()
    expect(r.error).toMatch(/127\.0\.0\.1 is a loopback address/)
    expect(received).toHaveLength(0)
  })

  it('refuses a name that resolves to a private address, even among public ones', async () => {
    routes['/hook'] = (_req, res) => res.writeHead(200).end()
    for (const lookup of [fixedLookup('127.0.0.1'), fixedLookup('8.8.8.8', '10.0.0.5'), fixedLookup('::ffff:7f00:1')]) {
      const r = await postWebhook(`http://hook.test:${port}/hook`, json, '{}', { ...strict, lookup })
      expect(r.status).toBeNull()
      expect(r.error).toMatch(/hook\.test resolves to .*, a (loopback|private) address/)
    }
    expect(received).toHaveLength(0)
  })

  it('does not reuse a kept-alive connection to a private address', async () => {
    routes['/hook'] = (_req, res) => res.writeHead(200, { connection: 'keep-alive' }).end('ok')
    const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 1 }), https: new https.Agent({ keepAlive: true }) }
    try {
      const first = await postWebhook(`http://hook.test:${port}/hook`, json, '{}', { allowPrivate: true, agents, lookup: fixedLookup('127.0.0.1') })
      expect(first.status).toBe(200)
      for (let i = 0; i < 100 && Object.keys(agents.http.freeSockets).length === 0; i++) await new Promise((r) => setTimeout(r, 5))
      expect(Object.keys(agents.http.freeSockets)).toHaveLength(1)
      // DNS now says public; the pooled socket still goes to 127.0.0.1.
      const second = await postWebhook(`http://hook.test:${port}/hook`, json, '{}', { allowPrivate: false, agents, lookup: fixedLookup('8.8.8.8'), timeoutMs: 2000 })
      expect(second.status).toBeNull()
      expect(second.error).toMatch(/kept-alive connection to 127\.0\.0\.1 refused/)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(received).toHaveLength(1)
    } finally {
      agents.http.destroy()
      agents.https.destroy()
    }
  })

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::', 'private'],
    ['fec0::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['169.253.1.1', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::808:808', 'public'],
    ['fbff::1', 'public'],
    ['example.com', 'invalid'],
    ['1.2.3', 'invalid'],
    ['', 'invalid'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind)
  })
})

describe('validateWebhookUrl', () => {
  it.each([
    ['https://hooks.example.com/roster', false, null],
    ['http://8.8.8.8:8080/x', false, null],
    ['https://[2001:4860:4860::8888]/x', false, null],
    ['http://127.0.0.1:9000/x', true, null],
    ['http://localhost:9000/x', true, null],
    ['not a url', false, /not a valid absolute URL/],
    ['/relative', false, /not a valid absolute URL/],
    ['ftp://example.com/x', false, /scheme ftp: is not/],
    ['file:///etc/passwd', false, /scheme file: is not/],
    ['https://user:secret@example.com/x', false, /user name or password/],
    ['http://127.0.0.1/x', false, /loopback/],
    ['http://2130706433/x', false, /127\.0\.0\.1 is a loopback/],
    ['http://0x7f.1/x', false, /loopback/],
    ['http://[::ffff:127.0.0.1]/x', false, /loopback/],
    ['http://[::1]:8080/x', false, /loopback/],
    ['http://169.254.169.254/latest/meta-data', false, /link-local/],
    ['http://100.64.0.1/x', false, /cgnat/],
    ['http://[fd00::1]/x', false, /private/],
    ['http://0.0.0.0:8080/x', false, /unspecified/],
    ['http://localhost:8080/x', false, /loopback/],
    ['http://api.localhost/x', false, /loopback/],
    [`https://example.com/${'a'.repeat(2100)}`, false, /longer than/],
  ])('%s (allowPrivate %s) -> %s', (url, allowPrivate, reason) => {
    const r = validateWebhookUrl(url, allowPrivate)
    if (reason === null) expect(r.ok).toBe(true)
    else expect(r.ok ? null : r.reason).toMatch(reason)
  })

  it('postWebhook applies the same checks', async () => {
    const r = await postWebhook('ftp://example.com/x', json, '{}', { allowPrivate: true })
    expect(r).toMatchObject({ status: null, error: expect.stringMatching(/scheme ftp:/) })
  })
})

describe('the shared agents', () => {
  it('are bounded, and keep a connection alive for the next delivery', async () => {
    expect(webhookAgents.http.maxTotalSockets).toBe(256)
    expect(webhookAgents.https.maxTotalSockets).toBe(256)
    const ports: (number | undefined)[] = []
    routes['/hook'] = (req, res) => {
      ports.push(req.socket.remotePort)
      res.writeHead(204).end()
    }
    await postWebhook(`http://127.0.0.1:${port}/hook`, json, '{}', local)
    for (let i = 0; i < 100 && Object.keys(webhookAgents.http.freeSockets).length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    await postWebhook(`http://127.0.0.1:${port}/hook`, json, '{}', local)
    expect(ports).toHaveLength(2)
    expect(ports[1]).toBe(ports[0])
  })
})
