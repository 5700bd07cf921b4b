// How fast is the machine this hour? node:http's own client (a keep-alive Agent, 32 sockets)
// against the bare node:http server of the ceiling phase (ceiling-server.ts, its own process), a
// few seconds of GETs. Both ends allocate as a Node server does, so the figure moves with the
// hour as Roster's rates do: on the project's machine 22,000–30,000 requests/s at the quiet
// hours of the targets' runs, 9,000–18,000 at the slow ones (bench/RESULTS.md). The workload's
// own ceiling phase drives the same server with the benchmark's raw-socket client, which is
// light enough that its figure says much less about the hour.
//
//   npm run bench:probe [-- --requests 20000 --warmup 3000 --concurrency 32 --json FILE]
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { startCeilingServer } from './ceiling.ts'
import { runPool } from './pool.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
})
const requests = Number(values.requests)
const warmup = Number(values.warmup)
const concurrency = Number(values.concurrency)
for (const [name, n] of [['requests', requests], ['warmup', warmup], ['concurrency', concurrency]] as const) {
  if (!Number.isInteger(n) || n < (name === 'warmup' ? 0 : 1)) {
    console.error(`bench:probe: --${name} must be a whole number${name === 'warmup' ? '' : ' above 0'}`)
    process.exit(2)
  }
}

const server = startCeilingServer()
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, timeout: 60_000 })
try {
  const port = await server.port
  // What the benchmark's client did per request up to 6ad4350 (node:http's, before the raw-socket
  // one), so that the figure stays on the scale of the quiet-hour runs: headers, the body
  // gathered and parsed.
  const headers = { accept: 'application/scim+json, application/json', authorization: 'Bearer probe' }
  const get = () => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', method: 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('error', reject)
      res.once('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'))
        if (res.statusCode === 200) resolve()
        else reject(new Error(`status ${res.statusCode}`))
      })
    })
    req.setTimeout(60_000, () => req.destroy(new Error('timeout after 60 s')))
    req.once('error', reject)
    req.end()
  })
  await runPool(Array.from({ length: warmup }), concurrency, get)
  const started = performance.now()
  await runPool(Array.from({ length: requests }), concurrency, get)
  const perSecond = Math.round(requests / ((performance.now() - started) / 1000))
  const result = { at: new Date().toISOString(), requests, concurrency, nodeHttpCeiling: perSecond }
  console.log(`${result.at} node:http client against a bare node:http server: ${perSecond} requests/s`)
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  agent.destroy()
  server.child.kill()
}
