// HTTP requests over a real socket from a chosen local address: 127.0.0.0/8 is all loopback on
// Linux, so a client bound to 127.0.0.2 is another source to a server on 127.0.0.1.
import { Agent, request } from 'node:http'

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
}

/** A client whose connections (kept alive, at most `sockets` at once) all leave from `localAddress`. */
export function clientFrom(base: string, localAddress: string, sockets = 8): {
  send(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<Answer>
  close(): void
} {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets })
  return {
    send(method, path, headers = {}, body) {
      return new Promise((resolve, reject) => {
        const req = request(`${base}${path}`, { method, agent, localAddress, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    },
    close: () => agent.destroy(),
  }
}
