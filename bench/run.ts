// Workload benchmark for any SCIM 2.0 server: `npm run bench -- --base URL --token T [...]`,
// or `npm run bench -- --spawn [...]` to start Roster on a temp database first (spawn.ts).
// Runs the phases in order, prints a table per phase and the correctness checks, and exits
// non-zero when a check fails. See bench/README.md.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { parseOptions, USAGE, UsageError, type BenchOptions } from './args.ts'
import { runCeiling } from './ceiling.ts'
import { Bench, type BenchOrg } from './context.ts'
import { field, Servers } from './http-client.ts'
import { groupPhases, largeVsSmall } from './phases-groups.ts'
import { createUsers, crossOrg, deactivateUsers, deleteAll, filterUsers, getUsers, listUsers, patchUsers } from './phases-users.ts'
import { printReport } from './report.ts'
import { RssSampler } from './rss.ts'

/**
 * Runs every phase against `opts.base` (one or more servers of one directory) as the
 * organizations whose tokens are given: one token per organization, `opts.orgs` of them.
 */
export async function runBench(opts: BenchOptions, tokens: readonly string[]): Promise<number> {
  const prefix = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  if (tokens.length < opts.orgs) {
    console.error(`${opts.orgs} organizations need ${opts.orgs} tokens, got ${tokens.length}`)
    return 2
  }
  const client = new Servers(opts.base, tokens[0] ?? null, opts.concurrency)
  for (const [k, server] of client.clients.entries()) {
    const preflight = await server.request('GET', '/Users?count=1').catch((err: unknown) => err)
    if (!(typeof preflight === 'object' && preflight !== null && 'status' in preflight && preflight.status === 200)) {
      const why = preflight instanceof Error ? preflight.message : JSON.stringify(preflight)
      console.error(`preflight GET ${opts.base[k]}/Users?count=1 failed: ${why}`)
      client.close()
      return 2
    }
  }

  const rss = opts.pid.map((pid) => new RssSampler(pid))
  for (const r of rss) r.start()
  // One organization keeps the client's own token (no per-request header), as before.
  const orgs: BenchOrg[] = Array.from({ length: opts.orgs }, (_, index) => ({ index, token: opts.orgs === 1 ? undefined : tokens[index] }))
  const b = new Bench(opts, client, prefix, orgs, rss)
  console.log(
    `roster bench: ${opts.base.join(' ')} users=${opts.users} orgs=${opts.orgs} groups=${opts.groups} members=${opts.members} ` +
      `large-members=${opts.largeMembers} concurrency=${opts.concurrency} max-requests=${opts.maxRequests ?? '-'} ` +
      `pid=${opts.pid.join(',') || '-'} prefix=${prefix}\n`,
  )

  const summary: string[] = []
  try {
    await createUsers(b)
    await getUsers(b)
    await filterUsers(b)
    await crossOrg(b)
    await listUsers(b)
    await patchUsers(b)
    await groupPhases(b)
    summary.push(...(await largeVsSmall(b)))
    await deactivateUsers(b)
    await deleteAll(b)
    summary.push(...(await runCeiling(b)))
    b.check('bench: ran to completion', true, 'all phases ran')
  } catch (err) {
    b.check('bench: ran to completion', false, err instanceof Error ? (err.stack ?? err.message) : String(err))
  } finally {
    for (const r of rss) r.stop()
    client.close()
  }

  const errors = b.results.reduce((n, r) => n + r.errors, 0)
  const requests = b.results.reduce((n, r) => n + r.count, 0)
  b.check('every response had the expected status', errors === 0, `${errors} unexpected of ${requests} requests`)
  for (const [k, r] of rss.entries()) {
    summary.push(`server RSS (pid ${opts.pid[k]}): peak sampled VmRSS ${r.peakMiB()} MiB over ${r.samples} samples; VmHWM ${r.hwmMiB() ?? 'n/a'} MiB`)
  }
  printReport(b.results, b.checks, summary)

  if (opts.json !== null) {
    const servers = rss.map((r, k) => ({ pid: opts.pid[k], peakRssMiB: r.peakMiB(), vmHwmMiB: r.hwmMiB(), samples: r.samples }))
    // One server: the object earlier runs wrote; several: one per server.
    const rssJson = servers.length === 0 ? null : servers.length === 1 ? servers[0] : servers
    const { token: _token, ...options } = opts
    const doc = { options, prefix, phases: b.results, checks: b.checks, summary, rss: rssJson }
    writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n')
    console.log(`results written to ${opts.json}`)
  }
  return b.checks.every((c) => c.pass) ? 0 : 1
}

async function main(): Promise<void> {
  let opts: BenchOptions
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err
    if (err.message !== '') console.error(err.message)
    console.error(USAGE)
    process.exitCode = 2
    return
  }
  if (opts.spawn) {
    const { withSpawnedRoster } = await import('./spawn.ts')
    process.exitCode = await withSpawnedRoster(opts, runBench)
  } else if (opts.orgs === 1 && opts.token !== null) {
    process.exitCode = await runBench(opts, [opts.token])
  } else if (opts.tokens !== null) {
    process.exitCode = await runBench(opts, readTokens(opts.tokens))
  }
}

/** Tokens from `roster org create --json` lines (or any JSON lines with a "token"), in order. */
function readTokens(file: string): string[] {
  const out: string[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue
    const token = field(JSON.parse(line) as unknown, 'token')
    if (typeof token === 'string') out.push(token)
  }
  return out
}

await main()
