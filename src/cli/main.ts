// `roster serve | migrate | org create|list|rename|delete|show|set|domain verify|audit | token refresh |
// user list | group list | log | api-key create|list|revoke | webhook … | admin create | worker`.
// `org show|set|domain|audit` read their own flags (commands/org.ts).
// Every command takes --json for scripts. Exit codes: 0 ok, 1 failure, 2 usage.
import { uuidV7Generator } from '../ids.ts'
import { parseArgs } from 'node:util'
import { readTlsFiles } from '../http/tls.ts'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { serve } from '../http/server.ts'
import { DEFAULT_LIMITS, type Deps } from '../provisioning/deps.ts'
import { ApiKeyError, createApiKey, listApiKeys, parseExpiry, parseScopes, revokeApiKey } from '../provisioning/api-keys.ts'
import { LogQueryError, parseLogQuery, readLogPage } from '../provisioning/log-query.ts'
import { OrgError, createOrg, findOrg, refreshToken, renameOrg } from '../provisioning/orgs.ts'
import { openStore } from '../store/open.ts'
import { resolve } from 'node:path'
import { backup, restore } from '../store/sqlite-backup.ts'
import { migrationPlan } from './commands/migrate-plan.ts'
import { formatLogPage } from './commands/log.ts'
import { ORG_USAGE, OrgUsage, isOrgSettingsCommand, orgSettingsCommand, orgSubUsage } from './commands/org.ts'
import { systemTxtResolver } from '../orgs/domains.ts'
import { WebhookUsage, runWorker, webhookCommand } from './commands/webhook.ts'
import { SchemaUsage, schemaCommand } from './commands/schema.ts'
import { WebhookError } from '../events/webhooks.ts'
import { ADMIN_USAGE, AdminUsage, adminCommand } from './commands/admin.ts'
import { orgDeleteCommand } from './commands/org-delete.ts'
import { tenantBase, tenantUrl, tenantUrlWarning } from '../ops/public-url.ts'

const USAGE = `Usage: roster <command> [options]

  serve [--no-migrate]                 run the server (HOST, PORT, ROSTER_DATABASE_URL)
  migrate [--dry-run]                  apply database migrations and exit (--dry-run: list the pending ones, apply none)
  config check                         check every environment variable (docs/configuration.md) and print the result
  backup PATH                          copy the SQLite database (and its log file) to PATH while the server runs
  restore PATH [--force]               put a backup in place of the SQLite database (stop the server first)
  org create NAME [--domain D ...] [--force]
                                       create an organization; prints its SCIM tenant URL and token (once)
  org list                             list organizations
  org rename ORG NEW_NAME              give an organization another name (its id, tenant URL and token stay)
  org delete ORG [--yes]               delete an organization and all it holds, its tokens and API keys at once;
                                       asks for its name unless --yes (or --force); its audit log keeps the deletion
  org show ORG                         its settings and email domains
  org set ORG [--domain-add D]... [--domain-remove D]... [--send-invitations on|off]
      [--outside-domains refuse|allow] [--subdomains on|off] [--deprovision suspend|delete]
      [--delete-after-days N] [--adopt-existing on|off] [--scim-owned F,F] [--strict-attributes on|off]
      [--attribute-map PATH=FIELD,...] [--force]
                                       change them, recorded in its audit log and as an organization.updated
                                       event; --force accepts a consumer domain (gmail.com …); a domain another
                                       organization lists needs DNS verification (or ROSTER_SHARED_DOMAINS=1)
  org domain verify ORG DOMAIN         prove a domain by DNS: prints the TXT record to publish, then the result
  org audit ORG [--limit N] [--cursor C]
                                       who changed the organization's settings, when and what, newest first
  token refresh ORG                    issue a new SCIM token for ORG (id or name); the old one stops working
  user list ORG [--filter F] [--start-index N] [--count N]
                                       a page of users (100 by default; a hint tells how to see more);
                                       --json prints every field
  group list ORG [--filter F] [--start-index N] [--count N]
  log ORG [--since ISO|15m|1h|7d] [--status 409|4xx] [--user ID] [--idp okta|entra|…] [--limit N] [--cursor C]
                                       the provisioning log, newest first
  api-key create [NAME] [--org ORG] [--scope S,S] [--expires 30d|ISO]
                                       create an API key for /api/v1; prints it (once). Without --org
                                       it is an operator key (every organization); scopes default to all
                                       (directory:read, directory:write, events:read, webhooks:read, webhooks:manage, log:read,
                                       org:admin)
  api-key list                         list API keys (never the secret)
  api-key revoke ID|NAME               revoke an API key at once
  schema add ORG FILE.json | list ORG | remove ORG URN
                                       the organization's declared extension schemas (custom attributes)
  webhook add ORG URL [--types T,T] [--description D]
                                       add a webhook endpoint; prints its signing secret (once)
  webhook list ORG | remove ORG ID | test ORG ID | rotate ORG ID
  webhook redeliver ORG ID EVENT_ID | replay ORG ID [--after CURSOR]
  admin create --email E --org ORG --role admin|viewer | admin create --email E --role operator
                                       a console account with its role; prints a one-time link to choose its password
  worker                               deliver webhooks and send invitation emails in this process
                                       (beside servers started with ROSTER_NO_WEBHOOK_WORKER=1 and
                                       ROSTER_NO_MAIL_WORKER=1)

Every command accepts --json.`

class UsageError extends Error {}

/** The usage lines of one command (`roster user --help`, `roster help org create`): USAGE's entries that start with it. */
export function commandUsage(cmd: string, sub?: string): string | null {
  const entries: string[][] = []
  for (const line of USAGE.split('\n').slice(2)) {
    if (/^ {2}\S/.test(line)) entries.push([line])
    else if (/^ {3,}\S/.test(line) && entries.length > 0) entries.at(-1)?.push(line)
    else if (line.trim() === '') break
  }
  const words = (e: string[]) => (e[0] ?? '').trim().split(/\s+/)
  let found = entries.filter((e) => words(e)[0] === cmd)
  if (sub !== undefined && found.some((e) => words(e)[1] === sub)) found = found.filter((e) => words(e)[1] === sub)
  if (found.length === 0) return null
  return `Usage: roster ${found.map((e) => e.join('\n').trimStart()).join('\n\n       roster ')}\n\nEvery command accepts --json. Errors and their codes: docs/errors.md.`
}

function printHelp(cmd: string, sub: string | undefined): number {
  if (cmd === 'org' && isOrgSettingsCommand(sub)) {
    process.stdout.write(`${orgSubUsage(sub)}\n`)
    return 0
  }
  const text = commandUsage(cmd, sub)
  if (text === null) throw new UsageError(`unknown command: ${cmd}`)
  process.stdout.write(`${text}\n`)
  return 0
}

/** The configuration with its secrets hidden (a database or SMTP password, the metrics token). */
function redactedConfig(config: Config): Record<string, unknown> {
  const hide = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
  return {
    ...config,
    database: config.database.kind === 'sqlite' ? `sqlite:${config.database.path}` : hide(config.database.url),
    smtpUrl: config.smtpUrl === null ? null : hide(config.smtpUrl),
    metricsToken: config.metricsToken === null ? null : '***',
  }
}

async function withDeps<T>(config: Config, fn: (deps: Deps) => Promise<T>): Promise<T> {
  // One-shot commands start no worker threads: reads and checkpoints stay on the main thread.
  const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: 0, sqliteBackgroundCheckpoint: false })
  try {
    return await fn({ store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits ?? DEFAULT_LIMITS })
  } finally {
    await store.close()
  }
}

function out(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`)
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'org' && isOrgSettingsCommand(argv[1]) && (argv.includes('--help') || argv.includes('-h'))) return printHelp('org', argv[1])
  if (argv[0] === 'org' && isOrgSettingsCommand(argv[1])) {
    const config = loadConfig()
    return orgSettingsCommand(argv.slice(1), {
      sharedDomains: config.sharedDomains, txtResolver: systemTxtResolver, withDeps: (fn) => withDeps(config, fn), print: out,
      tenantUrl: async (deps) => {
        const base = await tenantBase(deps.store, config)
        return { url: tenantUrl(base), warning: tenantUrlWarning(base) }
      },
    })
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      domain: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      'no-migrate': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      filter: { type: 'string' },
      count: { type: 'string' },
      'start-index': { type: 'string' },
      since: { type: 'string' },
      status: { type: 'string' },
      user: { type: 'string' },
      idp: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      org: { type: 'string' },
      scope: { type: 'string', multiple: true },
      expires: { type: 'string' },
      name: { type: 'string' },
      types: { type: 'string' },
      description: { type: 'string' },
      after: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [cmd, sub, arg] = positionals
  if (cmd === 'help' && sub !== undefined) return printHelp(sub, arg)
  if (values.help && cmd !== undefined) return printHelp(cmd, sub)
  if (values.help || cmd === undefined || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return cmd === undefined && !values.help ? 2 : 0
  }
  const base = loadConfig()
  const config: Config = values['no-migrate'] ? { ...base, migrate: false } : base
  const json = values.json

  switch (cmd) {
    case 'serve':
      await serve(config)
      return -1 // keep running
    case 'migrate':
      if (values['dry-run']) {
        const plan = await migrationPlan(config.database)
        out(json, plan, [
          plan.pending.length === 0 ? 'Database is up to date: nothing to apply.' : `Would apply ${plan.pending.length} migration${plan.pending.length === 1 ? '' : 's'}:\n${plan.pending.map((m) => `  ${m}`).join('\n')}`,
          ...(plan.unknown.length > 0 ? [`Applied but unknown to this version (the database is newer): ${plan.unknown.join(', ')}`] : []),
        ].join('\n'))
        return 0
      }
      await withDeps(config, async () => undefined)
      out(json, { migrated: true }, 'Database is up to date.')
      return 0
    case 'config': {
      if (sub !== 'check') throw new UsageError('usage: roster config check')
      // loadConfig above has validated every variable (an error names the variable and exits 1);
      // the TLS files are read as the server reads them at start.
      if (config.tls !== null) readTlsFiles(config.tls)
      const shown = redactedConfig(config)
      out(json, shown, ['Configuration is valid:', ...Object.entries(shown).map(([k, v]) => `  ${k.padEnd(20)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)].join('\n'))
      return 0
    }
    case 'backup': {
      if (!sub) throw new UsageError('usage: roster backup PATH')
      const r = backup(config.database, resolve(sub))
      out(json, r, r.files.map((f) => `${f.from} → ${f.to} (${f.bytes} bytes)`).join('\n'))
      return 0
    }
    case 'restore': {
      if (!sub) throw new UsageError('usage: roster restore PATH [--force]')
      const r = restore(config.database, resolve(sub), { force: values.force })
      out(json, r, [...r.files.map((f) => `${f.from} → ${f.to} (${f.bytes} bytes)`), 'Restored. Start the server: it applies any migration the backup lacks.'].join('\n'))
      return 0
    }
    case 'org':
      if (sub === 'create') {
        if (!arg) throw new UsageError('org create needs a NAME')
        const [r, base] = await withDeps(config, async (deps) => [
          await createOrg(deps, arg, values.domain ?? [], { force: values.force, sharedDomains: config.sharedDomains }), await tenantBase(deps.store, config),
        ] as const)
        const url = tenantUrl(base)
        const warning = tenantUrlWarning(base)
        if (warning !== null) process.stderr.write(`warning: ${warning}\n`)
        out(json, { orgId: r.orgId, tenantUrl: url, token: r.token },
          `Organization: ${r.orgId}\nTenant URL:   ${url}\nSCIM token:   ${r.token}\n\nThe token is shown only now. Paste the tenant URL and token into your identity provider.`)
        return 0
      }
      if (sub === 'rename') {
        const name = positionals[3]
        if (!arg || !name) throw new UsageError('usage: roster org rename ORG NEW_NAME')
        const r = await withDeps(config, (deps) => renameOrg(deps, arg, name))
        out(json, r, `Organization ${r.orgId}: "${r.previous}" is now "${r.name}". Its tenant URL and token are unchanged.`)
        return 0
      }
      if (sub === 'delete') {
        if (!arg || positionals.length > 3) throw new UsageError('usage: roster org delete ORG [--yes]')
        return withDeps(config, (deps) => orgDeleteCommand(deps, arg, { yes: values.yes || values.force }, (value, text) => out(json, value, text)))
      }
      if (sub === 'list') {
        const orgs = await withDeps(config, (deps) => deps.store.listOrgs())
        out(json, orgs, orgs.map((o) => `${o.id}  ${o.name}${o.domains.length ? `  (${o.domains.join(', ')})` : ''}`).join('\n') || 'No organizations.')
        return 0
      }
      throw new UsageError(`unknown command: org ${sub ?? ''}`)
    case 'token':
      if (sub !== 'refresh' || !arg) throw new UsageError('usage: roster token refresh ORG')
      {
        const r = await withDeps(config, (deps) => refreshToken(deps, arg))
        out(json, { orgId: r.orgId, token: r.token }, `SCIM token:   ${r.token}\n\nThe previous token no longer works. This one is shown only now.`)
      }
      return 0
    case 'user':
    case 'group': {
      if (sub !== 'list' || !arg) throw new UsageError(`usage: roster ${cmd} list ORG [--filter F] [--start-index N] [--count N]`)
      const { parseListParams } = await import('../scim/list-query.ts')
      const p = parseListParams({ filter: values.filter, count: values.count ?? '100', startIndex: values['start-index'] ?? '1' }, 100_000)
      const query = { filter: p.filter, sortBy: null, sortOrder: 'ascending' as const, startIndex: p.startIndex, count: p.count }
      await withDeps(config, async (deps) => {
        const org = await findOrg(deps, arg)
        const r = cmd === 'user' ? await deps.store.listUsers(org.id, query, { withMembership: false }) : await deps.store.listGroups(org.id, query, { withMembership: false })
        const shown = p.startIndex - 1 + r.rows.length
        const more = r.total > shown ? `\n… ${r.total - shown} more: --start-index ${shown + 1}` : ''
        // --json: every field of each resource, as stored, with its id and times.
        const full = r.rows.map((x) => ({ ...x.body, id: x.id, ...(cmd === 'user' ? { active: x.body.active !== false } : {}), externalId: x.body.externalId ?? null, created: x.created, lastModified: x.lastModified, version: x.version }))
        const page = { totalResults: r.total, startIndex: p.startIndex, itemsPerPage: r.rows.length }
        if (cmd === 'user') {
          out(json, { ...page, users: full }, [`${r.total} users${r.rows.length < r.total ? ` (${p.startIndex}–${shown} shown)` : ''}`,
            ...r.rows.map((u) => `${u.id}  ${String(u.body.userName)}${u.body.active === false ? '  (inactive)' : ''}`)].join('\n') + more)
        } else {
          out(json, { ...page, groups: full }, [`${r.total} groups${r.rows.length < r.total ? ` (${p.startIndex}–${shown} shown)` : ''}`,
            ...r.rows.map((g) => `${g.id}  ${String(g.body.displayName)}`)].join('\n') + more)
        }
      })
      return 0
    }
    case 'log': {
      if (!sub) throw new UsageError('usage: roster log ORG [--since ISO|1h] [--status 409|4xx] [--user ID] [--idp NAME] [--limit N]')
      const page = await withDeps(config, async (deps) => {
        const query = parseLogQuery({ since: values.since, status: values.status, user: values.user, identityProvider: values.idp, cursor: values.cursor, limit: values.limit }, deps.now())
        const org = await findOrg(deps, sub)
        return readLogPage(deps.store, org.id, query)
      })
      out(json, page, formatLogPage(page))
      return 0
    }
    case 'api-key':
      if (sub === 'create') {
        const k = await withDeps(config, async (deps) => {
          const scopes = parseScopes(values.scope?.join(','))
          const expiresAt = parseExpiry(values.expires, deps.now())
          const orgId = values.org === undefined ? null : (await findOrg(deps, values.org)).id
          return createApiKey(deps, { name: values.name ?? arg, orgId, scopes, expiresAt })
        })
        out(json, k, [
          `API key:  ${k.key}`, `Name:     ${k.name}`, `Id:       ${k.id}`,
          `For:      ${k.orgId === null ? 'every organization (operator key)' : `organization ${k.orgId}`}`,
          `Scopes:   ${k.scopes.join(', ') === '*' ? 'all' : k.scopes.join(', ')}`,
          ...(k.expiresAt ? [`Expires:  ${k.expiresAt}`] : []),
          '', 'The key is shown only now. Send it as "Authorization: Bearer <key>" to /api/v1.',
        ].join('\n'))
        return 0
      }
      if (sub === 'list') {
        const keys = await withDeps(config, (deps) => listApiKeys(deps))
        out(json, keys, keys.map((k) => [
          `${k.id}  ${k.prefix}…  ${k.name}  ${k.orgId === null ? 'operator' : `org ${k.orgId}`}  [${k.scopes.join(' ')}]  created ${k.createdAt}`,
          k.lastUsedAt ? `  last used ${k.lastUsedAt}` : '', k.expiresAt ? `  expires ${k.expiresAt}` : '', k.revokedAt ? `  revoked ${k.revokedAt}` : '',
        ].join('')).join('\n') || 'No API keys.')
        return 0
      }
      if (sub === 'revoke') {
        if (!arg) throw new UsageError('usage: roster api-key revoke ID|NAME')
        const n = await withDeps(config, (deps) => revokeApiKey(deps, arg))
        out(json, { revoked: n }, `Revoked ${n} API key${n === 1 ? '' : 's'}.`)
        return 0
      }
      throw new UsageError(`unknown command: api-key ${sub ?? ''}`)
    case 'schema':
      return withDeps(config, (deps) => schemaCommand(deps, sub, arg, positionals[3], (value, text) => out(json, value, text)))
    case 'webhook':
      return withDeps(config, (deps) => webhookCommand(deps, config, {
        sub, org: arg, rest: positionals.slice(3), types: values.types, description: values.description, after: values.after,
      }, (value, text) => out(json, value, text)))
    case 'admin':
      return withDeps(config, (deps) => adminCommand(deps, config, { sub, email: values.email, org: values.org, role: values.role }, (value, text) => out(json, value, text)))
    case 'worker': {
      const store = await openStore(config.database, { migrate: config.migrate, sqliteReadWorkers: 0, poolSize: config.dbPoolSize })
      try {
        await runWorker({ store, now: () => new Date(), newId: uuidV7Generator(), limits: config.limits }, config, (m) => process.stderr.write(`${m}\n`))
      } finally {
        await store.close()
      }
      return 0
    }
    default:
      throw new UsageError(`unknown command: ${cmd}`)
  }
}

/** node:util parseArgs's refusal of an unknown flag or a flag without its value: a usage error. */
function isParseArgsError(e: unknown): boolean {
  return e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
}

try {
  const code = await main(process.argv.slice(2))
  if (code >= 0) process.exitCode = code
} catch (e) {
  if (e instanceof AdminUsage) {
    process.stderr.write(`${e.message}${e.message.includes(ADMIN_USAGE) ? '' : `\n${ADMIN_USAGE}`}\n`)
    process.exitCode = 2
  } else if (e instanceof UsageError || e instanceof WebhookUsage || e instanceof SchemaUsage || isParseArgsError(e)) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`)
    process.exitCode = 2
  } else if (e instanceof OrgUsage) {
    process.stderr.write(`${e.message === ORG_USAGE ? '' : `${e.message}\n\n`}${ORG_USAGE}\n`)
    process.exitCode = 2
  } else if (e instanceof ConfigError || e instanceof OrgError || e instanceof ApiKeyError || e instanceof WebhookError) {
    process.stderr.write(`error ${e.code}: ${e.message}\n`)
    process.exitCode = 1
  } else if (e instanceof LogQueryError) {
    process.stderr.write(`error ROSTER_ERR_LOG_FILTER: ${e.message}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
}
