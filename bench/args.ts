// Command-line options for the workload benchmark (see bench/README.md).
import { parseArgs } from 'node:util'

export interface BenchOptions {
  base: string | null
  token: string | null
  users: number
  groups: number
  members: number
  largeMembers: number
  listPasses: number
  concurrency: number
  pid: number | null
  json: string | null
  spawn: boolean
  rosterBin: string
  keep: boolean
}

export const USAGE = `Usage:
  npm run bench -- --base URL --token T [options]
  npm run bench -- --spawn [options]

  --base URL            SCIM 2.0 base URL, e.g. http://127.0.0.1:8080/scim/v2
  --token T             bearer token
  --users N             users to create (default 20000)
  --groups G            groups to create (default 20)
  --members M           members per group, M <= N (default 5000)
  --large-members L     size of the large group in large-vs-small (default 50000, capped, see README)
  --list-passes P       page through the users P times, each pass its own phase (default 3;
                        one pass is 200 requests at 20,000 users, a fraction of a second)
  --concurrency C       requests in flight (default 32)
  --pid PID             server process id: sample /proc/PID/status for RSS
  --json FILE           also write all results as JSON
  --spawn               start Roster (node bin/roster.js serve) on a temp SQLite database
  --roster-bin FILE     with --spawn: the CLI to run (default bin/roster.js)
  --keep                with --spawn: keep the temp directory (database, server log)
`

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      base: { type: 'string' },
      token: { type: 'string' },
      users: { type: 'string', default: '20000' },
      groups: { type: 'string', default: '20' },
      members: { type: 'string', default: '5000' },
      'large-members': { type: 'string', default: '50000' },
      'list-passes': { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '32' },
      pid: { type: 'string' },
      json: { type: 'string' },
      spawn: { type: 'boolean', default: false },
      'roster-bin': { type: 'string', default: 'bin/roster.js' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) throw new UsageError('')
  const opts: BenchOptions = {
    base: values.base ?? null,
    token: values.token ?? null,
    users: int('users', values.users, 1),
    groups: int('groups', values.groups, 0),
    members: int('members', values.members, 0),
    largeMembers: int('large-members', values['large-members'], 1),
    listPasses: int('list-passes', values['list-passes'], 1),
    concurrency: int('concurrency', values.concurrency, 1),
    pid: values.pid === undefined ? null : int('pid', values.pid, 1),
    json: values.json ?? null,
    spawn: values.spawn,
    rosterBin: values['roster-bin'],
    keep: values.keep,
  }
  if (!opts.spawn && (opts.base === null || opts.token === null)) {
    throw new UsageError('--base and --token are required (or use --spawn)')
  }
  if (opts.members > opts.users) {
    throw new UsageError(`--members (${opts.members}) must be <= --users (${opts.users}): members are distinct users`)
  }
  return opts
}

function int(name: string, raw: string, min: number): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`)
  return n
}
