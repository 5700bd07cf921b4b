// Raw TCP requests, for what fetch will not send: bytes a second, invalid UTF-8, oversized
// headers, sockets left idle.
import { connect, type Socket } from 'node:net'

export interface RawAnswer { status: number; head: string; body: string; closed: boolean; ms: number }

/** Sends `chunks` (written `gapMs` apart) and reads until the server closes or `maxMs` passes. */
export function rawRequest(port: number, chunks: readonly (string | Buffer)[], opts: { gapMs?: number; maxMs?: number } = {}): Promise<RawAnswer> {
  const started = Date.now()
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1')
    let data = Buffer.alloc(0)
    let closed = false
    let i = 0
    let timer: NodeJS.Timeout | undefined
    const finish = () => {
      clearTimeout(timer)
      clearTimeout(deadline)
      socket.destroy()
      const text = data.toString('latin1')
      const [head = '', ...rest] = text.split('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      resolve({ status, head, body: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8'), closed, ms: Date.now() - started })
    }
    const write = () => {
      if (socket.destroyed || i >= chunks.length) return
      socket.write(chunks[i++] as string | Buffer, () => {
        timer = setTimeout(write, opts.gapMs ?? 0)
      })
    }
    socket.on('connect', write)
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d])
      // A complete answer with Content-Length: done.
      const text = data.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(text.slice(0, end))?.[1]
      if (end >= 0 && len !== undefined && data.length >= end + 4 + Number(len)) finish()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      closed = true
      finish()
    })
    const deadline = setTimeout(finish, opts.maxMs ?? 10_000)
  })
}

/** Opens `n` TCP connections that send nothing. */
export async function idleSockets(port: number, n: number): Promise<{ open: () => number; close: () => void }> {
  const sockets: Socket[] = []
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve())
    s.on('error', () => resolve())
    sockets.push(s)
  })))
  return { open: () => sockets.filter((s) => !s.destroyed && !s.readableEnded).length, close: () => sockets.forEach((s) => s.destroy()) }
}

export function httpRequest(method: string, path: string, headers: Record<string, string>, body: string | Buffer = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${b.length}`, '', ''].join('\r\n')
  return Buffer.concat([Buffer.from(head, 'latin1'), b])
}
