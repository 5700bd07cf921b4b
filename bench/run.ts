// Workload benchmark for any SCIM 2.0 server: `npm run bench -- --base URL --token T [...]`,
// or `npm run bench -- --spawn [...]` to start Roster on a temp database first (spawn.ts).
// Runs the phases in order, prints a table per phase and the correctness checks, and exits
// non-zero when a check fails. See bench/README.md.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { parseOptions, USAGE, UsageError, type BenchOptions } from './args.ts'
import { runCeiling } from './ceiling.ts'
import { Bench } from './context.ts'
import { HttpClient } from './http-client.ts'
import { groupPhases, largeVsSmall } from './phases-groups.ts'
import { createUsers, deactivateUsers, deleteAll, filterUsers, getUsers, listUsers, patchUsers } from './phases-users.ts'
import { printReport } from './report.ts'
import { RssSampler } from './rss.ts'

export async function runBench(opts: BenchOptions & { base: string; token: string }): Promise<number> {
  const prefix = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  const client = new HttpClient(opts.base, opts.token, opts.concurrency)
  const preflight = await client.request('GET', '/Users?count=1').catch((err: unknown) => err)
  if (!(typeof preflight === 'object' && preflight !== null && 'status' in preflight && preflight.status === 200)) {
    const why = preflight instanceof Error ? preflight.message : JSON.stringify(preflight)
    console.error(`preflight GET ${opts.base}/Users?count=1 failed: ${why}`)
    client.close()
    return 2
  }

  const rss = opts.pid === null ? null : new RssSampler(opts.pid)
  rss?.start()
  const b = new Bench(opts, client, prefix, rss)
  console.log(
    `roster bench: ${opts.base} users=${opts.users} groups=${opts.groups} members=${opts.members} ` +
      `large-members=${opts.largeMembers} concurrency=${opts.concurrency} pid=${opts.pid ?? '-'} prefix=${prefix}\n`,
  )

  const summary: string[] = []
  try {
    await createUsers(b)
    await getUsers(b)
    await filterUsers(b)
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
    rss?.stop()
    client.close()
  }

  const errors = b.results.reduce((n, r) => n + r.errors, 0)
  const requests = b.results.reduce((n, r) => n + r.count, 0)
  b.check('every response had the expected status', errors === 0, `${errors} unexpected of ${requests} requests`)
  if (rss !== null) {
    summary.push(`server RSS (pid ${opts.pid}): peak sampled VmRSS ${rss.peakMiB()} MiB over ${rss.samples} samples; VmHWM ${rss.hwmMiB() ?? 'n/a'} MiB`)
  }
  printReport(b.results, b.checks, summary)

  if (opts.json !== null) {
    const rssJson = rss === null ? null : { pid: opts.pid, peakRssMiB: rss.peakMiB(), vmHwmMiB: rss.hwmMiB(), samples: rss.samples }
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
  } else if (opts.base !== null && opts.token !== null) {
    process.exitCode = await runBench({ ...opts, base: opts.base, token: opts.token })
  }
}

await main()
