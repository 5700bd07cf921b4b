// Bulk benchmark (bench/README.md, "Bulk"): starts Roster on a temp SQLite database (or
// --database) as `npm run bench -- --spawn` does, then measures N user creates two ways, on the
// same server, one after the other:
//   single  N POST /Users, --concurrency in flight (32 by default), as identity providers send them;
//   bulk    one POST /Bulk of N POST /Users operations (RFC 7644 §3.7).
// Prints both times and rates, and checks that every user was created (201 each).
//
//   npm run bench:bulk -- [--users 1000] [--concurrency 32] [--order single-first|bulk-first]
//                         [--database URL] [--keep] [--json FILE]
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { parseOptions } from './args.ts'
import { HttpClient, field } from './http-client.ts'
import { withSpawnedRoster } from './spawn.ts'

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    order: { type: 'string', default: 'single-first' },
    database: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
})
const USERS = Number(values.users)
const CONCURRENCY = Number(values.concurrency)
if (!Number.isSafeInteger(USERS) || USERS < 1 || !Number.isSafeInteger(CONCURRENCY) || CONCURRENCY < 1 || !['single-first', 'bulk-first'].includes(values.order)) {
  console.error('usage: npm run bench:bulk -- [--users N] [--concurrency C] [--order single-first|bulk-first] [--database URL] [--keep] [--json FILE]')
  process.exit(2)
}

function userBody(userName: string): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Bulk', familyName: 'Bench' },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
  }
}

interface Figure {
  readonly what: string
  readonly ms: number
  readonly created: number
}

async function single(client: HttpClient, prefix: string): Promise<Figure> {
  let next = 0
  let created = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < USERS) {
      const i = next++
      const r = await client.request('POST', '/Users', userBody(`${prefix}.s${i}@example.com`))
      if (r.status === 201) created++
      else console.error(`single POST ${i}: ${r.status} ${r.body.slice(0, 200)}`)
    }
  }))
  return { what: `${USERS} single POST /Users (concurrency ${CONCURRENCY})`, ms: performance.now() - t0, created }
}

async function bulk(client: HttpClient, prefix: string): Promise<Figure> {
  const body = {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
    Operations: Array.from({ length: USERS }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: userBody(`${prefix}.b${i}@example.com`) })),
  }
  const t0 = performance.now()
  const r = await client.request('POST', '/Bulk', body)
  const ms = performance.now() - t0
  const ops = field(r.json, 'Operations')
  const created = Array.isArray(ops) ? ops.filter((o) => field(o, 'status') === '201').length : 0
  if (r.status !== 200) console.error(`POST /Bulk: ${r.status} ${r.body.slice(0, 300)}`)
  return { what: `1 POST /Bulk of ${USERS} user creates`, ms, created }
}

const opts = parseOptions(['--spawn', ...(values.database ? ['--database', values.database] : []), ...(values.keep ? ['--keep'] : [])])
const code = await withSpawnedRoster(opts, async (o, tokens) => {
  const client = new HttpClient(o.base[0] ?? '', tokens[0] ?? null, CONCURRENCY)
  const prefix = `bulk${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  try {
    // Warm the connections and the server's code paths a little before timing anything.
    for (let i = 0; i < 20; i++) await client.request('POST', '/Users', userBody(`${prefix}.warm${i}@example.com`))
    const figures = values.order === 'bulk-first' ? [await bulk(client, prefix), await single(client, prefix)] : [await single(client, prefix), await bulk(client, prefix)]
    console.log('')
    for (const f of figures) {
      console.log(`${f.what.padEnd(48)} ${f.ms.toFixed(0).padStart(7)} ms  ${(f.created / (f.ms / 1000)).toFixed(0).padStart(7)} creates/s  ${f.created}/${USERS} created`)
    }
    const [s, b] = values.order === 'bulk-first' ? [figures[1], figures[0]] : [figures[0], figures[1]]
    if (s && b) console.log(`bulk / single time: ${(b.ms / s.ms).toFixed(2)}`)
    if (values.json) writeFileSync(values.json, JSON.stringify({ users: USERS, concurrency: CONCURRENCY, database: opts.database ?? 'sqlite (temp)', figures }, null, 2))
    return figures.every((f) => f.created === USERS) ? 0 : 1
  } finally {
    client.close()
  }
})
process.exit(code)
