// A real webhook receiver for tests: an HTTP server on 127.0.0.1 that verifies every delivery's
// Standard Webhooks signature with the `standardwebhooks` package, as a receiver would, records
// what it accepted, and answers as the test tells it (200, a failure, 410, or not at all).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { freePort } from './free-port.ts'

export interface Delivery {
  readonly webhookId: string
  readonly timestamp: string
  readonly signature: string
  readonly body: string
  readonly event: { id: string; type: string; timestamp: string; data: Record<string, unknown> & { id: string; version: number; orgId: string } }
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang'

export interface Receiver {
  readonly url: string
  /** Accepted (verified, answered 2xx) deliveries, in arrival order. */
  readonly accepted: Delivery[]
  /** Every request, also refused ones, with the sender's port (which connection, so which process, sent it). */
  readonly requests: { headers: IncomingHttpHeaders; body: string; remotePort: number | undefined }[]
  /** Signatures that failed verification (must stay empty). */
  readonly badSignatures: string[]
  /** The secrets a delivery may be signed with; each alone must verify it. */
  secrets: string[]
  /** How to answer the next request (default 200); a promise answers when it settles (a slow receiver). */
  answer: (body: string) => Answer | Promise<Answer>
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startReceiver(port?: number): Promise<Receiver> {
  const p = port ?? await freePort()
  let server: Server | null = null
  const r: Receiver = {
    url: `http://127.0.0.1:${p}/hooks`,
    accepted: [],
    requests: [],
    badSignatures: [],
    secrets: [],
    answer: () => ({ status: 200 }),
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', async () => {
          const body = Buffer.concat(chunks).toString('utf8')
          r.requests.push({ headers: req.headers, body, remotePort: req.socket.remotePort })
          const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) }
          for (const secret of r.secrets) {
            try {
              new Webhook(secret).verify(body, headers)
            } catch (e) {
              r.badSignatures.push(`${headers['webhook-id']}: ${(e as Error).message}`)
            }
          }
          const a = await r.answer(body)
          if (a === 'hang') return
          if (a.status >= 200 && a.status < 300) {
            r.accepted.push({ webhookId: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, event: JSON.parse(body) as Delivery['event'] })
          }
          res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '')
        })
      })
      await new Promise<void>((resolve) => server?.listen(p, '127.0.0.1', resolve))
    },
    async stop() {
      const s = server
      server = null
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
  }
  await r.start()
  return r
}

/** Polls `check` until it holds or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 15_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
