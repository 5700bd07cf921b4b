// Ceiling phase: N GETs with the same client and concurrency against a bare node:http server
// (ceiling-server.ts, in its own process so it does not share the client's event loop). Its
// ops/s is the most this client can drive on this machine; reads are reported against it.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Bench } from './context.ts'
import { HttpClient } from './http-client.ts'
import { round, runPool } from './pool.ts'

const SERVER = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url))
const WARMUP = 2000
const READ_PHASES = ['get', 'filter-hit', 'filter-miss', 'list']
const isRead = (name: string) => READ_PHASES.includes(name.replace(/#\d+$/, ''))

/**
 * Starts ceiling-server.ts in a process of its own and waits for its port. Its stdin is held
 * open: it exits when this process goes. The caller kills it when done.
 */
export function startCeilingServer(): { child: ChildProcess; port: Promise<number> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), SERVER], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const port = new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.once('exit', (code) => reject(new Error(`ceiling server exited with ${code}`)))
    child.once('error', reject)
  })
  return { child, port }
}

export async function runCeiling(b: Bench): Promise<string[]> {
  const server = startCeilingServer()
  const child = server.child
  try {
    const port = await server.port
    const client = new HttpClient(`http://127.0.0.1:${port}`, b.opts.token, b.opts.concurrency)
    // Warm up (JIT, sockets) untimed; the SCIM server was warmed by the phases before.
    await runPool(Array.from({ length: WARMUP }), b.opts.concurrency, async () => {
      await client.request('GET', '/')
    })
    const requests = Array.from({ length: Math.min(b.opts.users, b.opts.maxRequests ?? Infinity) }, (_, i) => i)
    const ceiling = await b.phase(
      'ceiling',
      requests,
      async (_i, phase) => {
        await phase.send('GET', '/', undefined, [200])
      },
      { client },
    )
    client.close()
    const lines = [`ceiling: bare node:http server, ${ceiling.opsPerSec} ops/s at concurrency ${b.opts.concurrency} (after ${WARMUP} warm-up GETs)`]
    for (const r of b.results.filter((r) => isRead(r.name))) {
      const fraction = ceiling.opsPerSec > 0 ? round(r.opsPerSec / ceiling.opsPerSec, 3) : 0
      r.notes['of ceiling'] = fraction
      lines.push(`  ${r.name.padEnd(12)} ${r.opsPerSec} ops/s = ${(fraction * 100).toFixed(1)}% of ceiling`)
    }
    return lines
  } finally {
    child.kill('SIGTERM')
  }
}
