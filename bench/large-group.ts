// The memory a large group's GET costs the server: a spawned Roster (bench/spawn.ts, a temp SQLite
// database unless --database) gets N users, one group of them built by PATCH (10,000 members a
// request), then `--gets` concurrent GET /Groups/{id} (members included, `--concurrency` in
// flight). The server's resident memory is sampled every 100 ms (bench/rss.ts): the peak before
// the GETs and during them. Each answer is checked to hold every member.
//
// With --list-groups G, G groups of all N users are built, and each GET is one list page of all
// of them with their members (GET /Groups?count=G): G × N members in one answer.
//
//   npm run bench:large-group -- [--members 50000] [--list-groups 0] [--gets 8] [--concurrency 4] [--roster-bin F] [--json FILE]
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseOptions } from './args.ts'
import { HttpClient } from './http-client.ts'
import { RssSampler } from './rss.ts'
import { withSpawnedRoster } from './spawn.ts'

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '50000' },
    'list-groups': { type: 'string', default: '0' },
    gets: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '4' },
    'roster-bin': { type: 'string', default: 'bin/roster.js' },
    database: { type: 'string' },
    json: { type: 'string' },
  },
})
const members = Number(values.members)
const listGroups = Number(values['list-groups'])
const gets = Number(values.gets)
const concurrency = Number(values.concurrency)
const opts = parseOptions(['--spawn', '--domains', '', '--roster-bin', values['roster-bin'], ...(values.database ? ['--database', values.database] : [])])

/** `fn` over `items`, at most `limit` at once, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }))
  return out
}

const code = await withSpawnedRoster(opts, async (o, tokens) => {
  const client = new HttpClient(o.base[0] as string, tokens[0] as string, 32)
  const rss = new RssSampler(o.pid[0] as number)
  rss.start()
  const prefix = `lg${Date.now().toString(36)}`
  const t0 = Date.now()
  const ids = await mapLimit(Array.from({ length: members }, (_, i) => i), 32, async (i) => {
    const r = await client.request('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${prefix}.${i}@example.com`, active: true })
    if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.body}`)
    return String((r.json as { id: string }).id)
  })
  const gids: string[] = []
  for (let k = 0; k < Math.max(1, listGroups); k++) {
    const g = await client.request('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `${prefix} everyone ${k}` })
    const gid = String((g.json as { id: string }).id)
    for (let i = 0; i < ids.length; i += 10_000) {
      const r = await client.request('PATCH', `/Groups/${gid}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: ids.slice(i, i + 10_000).map((value) => ({ value })) }],
      })
      if (r.status !== 204) throw new Error(`PATCH members: ${r.status} ${r.body}`)
    }
    gids.push(gid)
  }
  const gid = gids[0] as string
  console.log(`${members} users and ${gids.length} group(s) of them built in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  await new Promise((r) => setTimeout(r, 2_000))
  rss.markPhase()
  const before = rss.phasePeakMiB()
  rss.markPhase()
  const t1 = Date.now()
  const times = await mapLimit(Array.from({ length: gets }, (_, i) => i), concurrency, async () => {
    if (listGroups > 0) {
      const r = await client.request('GET', `/Groups?count=${listGroups}`)
      const got = ((r.json as { Resources?: { members?: unknown[] }[] } | undefined)?.Resources ?? []).map((g) => g.members?.length ?? 0)
      if (r.status !== 200 || got.length !== listGroups || got.some((n) => n !== members)) throw new Error(`GET /Groups: ${r.status}, members ${got.join(',')}`)
      return r.ms
    }
    const r = await client.request('GET', `/Groups/${gid}`)
    const got = (r.json as { members?: unknown[] } | undefined)?.members?.length
    if (r.status !== 200 || got !== members) throw new Error(`GET /Groups/${gid}: ${r.status}, ${String(got)} members`)
    return r.ms
  })
  const during = rss.phasePeakMiB()
  rss.stop()
  const result = {
    members, ...(listGroups > 0 ? { listGroups } : {}), gets, concurrency, rssBeforeMiB: before, peakRssDuringGetsMiB: during, growthMiB: Math.round((during - before) * 10) / 10,
    secondsForGets: (Date.now() - t1) / 1000, medianGetMs: Math.round(([...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0)),
  }
  console.log(JSON.stringify(result))
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`)
  return 0
})
process.exitCode = code
