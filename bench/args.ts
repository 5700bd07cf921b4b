// Command-line options for the workload benchmark (see bench/README.md).
import { parseArgs } from 'node:util'

export interface BenchOptions {
  /** SCIM base URLs, one per server; requests go to each in turn. */
  base: string[]
  token: string | null
  /** With --orgs > 1 and no --spawn: a file of `roster org create --json` lines, one per organization. */
  tokens: string | null
  orgs: number
  /** Most requests in each phase that has one request per user (or per member removed); creates are never capped. */
  maxRequests: number | null
  users: number
  groups: number
  members: number
  largeMembers: number
  listPasses: number
  concurrency: number
  pid: number[]
  json: string | null
  spawn: boolean
  servers: number
  database: string | null
  rosterBin: string
  /** With --spawn: the email domains each organization lists (its SCIM writes are checked against them). */
  domains: string[]
  keep: boolean
}

export const USAGE = `Usage:
  npm run bench -- --base URL --token T [options]
  npm run bench -- --spawn [options]

  --base URL            SCIM 2.0 base URL, e.g. http://127.0.0.1:8080/scim/v2; repeat it for
                        several servers of one directory (requests go to each in turn)
  --token T             bearer token
  --orgs O              spread the users over O organizations, each with its own token
                        (default 1); --groups and --members are then per organization
  --tokens FILE         with --orgs > 1 (without --spawn): one "roster org create --json"
                        line per organization (bench/orgs.ts writes such a file)
  --max-requests R      cap the per-user phases (get, filters, cross-org, patch-user,
                        deactivate, delete-user), member-remove and the ceiling at R requests,
                        and list at about R pages; creates are never capped (default: no cap)
  --users N             users to create (default 20000)
  --groups G            groups to create (default 20; per organization with --orgs)
  --members M           members per group, M <= N / O (default 5000)
  --large-members L     size of the large group in large-vs-small (default 50000, capped, see README)
  --list-passes P       page through the users P times, each pass its own phase (default 3;
                        one pass is 200 requests at 20,000 users, a fraction of a second)
  --concurrency C       requests in flight (default 32)
  --pid PID             server process id: sample /proc/PID/status for RSS (repeat it for
                        several servers)
  --json FILE           also write all results as JSON
  --spawn               start Roster (node bin/roster.js serve) on a temp SQLite database
  --servers K           with --spawn: start K servers (needs --database postgres://...)
  --database URL        with --spawn: ROSTER_DATABASE_URL for the servers instead of a temp
                        SQLite file (default: $ROSTER_BENCH_DATABASE_URL when set)
  --roster-bin FILE     with --spawn: the CLI to run (default bin/roster.js)
  --keep                with --spawn: keep the temp directory (database, server log)
  --domains D,D         with --spawn and one organization: its email domains (default example.com,example.net;
                        the benchmark's users are @example.com); '' for none
`

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      base: { type: 'string', multiple: true },
      token: { type: 'string' },
      tokens: { type: 'string' },
      orgs: { type: 'string', default: '1' },
      'max-requests': { type: 'string' },
      users: { type: 'string', default: '20000' },
      groups: { type: 'string', default: '20' },
      members: { type: 'string', default: '5000' },
      'large-members': { type: 'string', default: '50000' },
      'list-passes': { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '32' },
      pid: { type: 'string', multiple: true },
      json: { type: 'string' },
      spawn: { type: 'boolean', default: false },
      servers: { type: 'string', default: '1' },
      database: { type: 'string' },
      'roster-bin': { type: 'string', default: 'bin/roster.js' },
      keep: { type: 'boolean', default: false },
      domains: { type: 'string', default: 'example.com,example.net' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) throw new UsageError('')
  const opts: BenchOptions = {
    base: values.base ?? [],
    token: values.token ?? null,
    tokens: values.tokens ?? null,
    orgs: int('orgs', values.orgs, 1),
    maxRequests: values['max-requests'] === undefined ? null : int('max-requests', values['max-requests'], 1),
    users: int('users', values.users, 1),
    groups: int('groups', values.groups, 0),
    members: int('members', values.members, 0),
    largeMembers: int('large-members', values['large-members'], 1),
    listPasses: int('list-passes', values['list-passes'], 1),
    concurrency: int('concurrency', values.concurrency, 1),
    pid: (values.pid ?? []).map((p) => int('pid', p, 1)),
    json: values.json ?? null,
    spawn: values.spawn,
    servers: int('servers', values.servers, 1),
    database: values.database ?? (process.env.ROSTER_BENCH_DATABASE_URL || null),
    rosterBin: values['roster-bin'],
    keep: values.keep,
    domains: values.domains.split(',').map((d) => d.trim()).filter((d) => d !== ''),
  }
  if (!opts.spawn && opts.base.length === 0) throw new UsageError('--base is required (or use --spawn)')
  if (!opts.spawn && opts.orgs === 1 && opts.token === null) throw new UsageError('--token is required (or use --spawn)')
  if (!opts.spawn && opts.orgs > 1 && opts.tokens === null) throw new UsageError('--orgs > 1 needs --tokens FILE (or --spawn)')
  if (opts.spawn && opts.base.length > 0) throw new UsageError('--spawn starts its own servers: leave out --base')
  if (opts.servers > 1 && !opts.spawn) throw new UsageError('--servers is for --spawn; repeat --base for running servers')
  if (opts.servers > 1 && !/^postgres(ql)?:\/\//.test(opts.database ?? '')) {
    throw new UsageError('--servers > 1 needs --database postgres://... (several servers share one PostgreSQL database)')
  }
  if (opts.orgs > opts.users) throw new UsageError(`--orgs (${opts.orgs}) must be <= --users (${opts.users})`)
  const perOrg = Math.floor(opts.users / opts.orgs)
  if (opts.members > perOrg) {
    const where = opts.orgs === 1 ? `--users (${opts.users})` : `--users / --orgs (${perOrg})`
    throw new UsageError(`--members (${opts.members}) must be <= ${where}: members are distinct users of one organization`)
  }
  return opts
}

function int(name: string, raw: string, min: number): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`)
  return n
}
