// `roster org set|show|domain verify|audit` as an operator and a script run them (bin/roster.js
// on a SQLite file): the --json contract (the settings view, so that `jq .sendInvitations`
// works), the TXT record to publish, the audit log, exit code 2 for a bad flag and 1 for a
// refused domain, and shared domains behind ROSTER_SHARED_DOMAINS=1.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

/** The keys scripts read from `roster org set|show --json` (docs/api.md). */
const CONTRACT = ['orgId', 'name', 'domains', 'domainStates', 'sendInvitations', 'outsideDomains', 'subdomains', 'deprovision', 'deleteAfterDays', 'adoptExisting', 'scimOwnedFields', 'strictAttributes', 'attributeMapping', 'version']

describe('roster org settings', () => {
  let dir = ''
  let env: NodeJS.ProcessEnv = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-cli-org-'))
    env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, LOG_LEVEL: 'warn' }
    delete env.ROSTER_SHARED_DOMAINS
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const roster = async (...args: string[]) => (await run('node', [BIN, ...args], { env })).stdout
  const json = async (...args: string[]) => JSON.parse(await roster(...args, '--json')) as Record<string, unknown>

  it('org set --json and org show --json print the settings view; the human form reads; the audit log says cli', async () => {
    const created = await json('org', 'create', 'Acme CLI', '--domain', 'Acme.TEST')
    const set = await json(
      'org', 'set', 'Acme CLI', '--domain-add', 'bücher.test', '--domain-add', 'beta.test,gamma.test', '--domain-remove', 'acme.test', '--send-invitations', 'off',
      '--outside-domains', 'allow', '--subdomains', 'on', '--deprovision', 'suspend', '--delete-after-days', '7', '--adopt-existing', 'on', '--scim-owned', 'userName, emails',
    )
    expect(Object.keys(set)).toEqual(CONTRACT)
    expect(set).toMatchObject({
      orgId: created.orgId, name: 'Acme CLI', domains: ['beta.test', 'gamma.test', 'xn--bcher-kva.test'], sendInvitations: false, outsideDomains: 'allow',
      subdomains: true, deprovision: 'suspend', deleteAfterDays: 7, adoptExisting: true, scimOwnedFields: ['userName', 'emails'],
    })
    expect(await json('org', 'show', String(created.orgId))).toEqual(set)

    const text = await roster('org', 'show', 'acme cli')
    expect(text).toMatch(/^Send invitations\s+off$/m)
    expect(text).toMatch(/^Deprovision\s+suspend, delete after 7 days$/m)
    expect(text).toMatch(/^Domains\s+beta\.test\s+unverified$/m)
    expect(await roster('org', 'set', 'Acme CLI', '--send-invitations', 'off')).toMatch(/^Nothing changed\./)

    const audit = await json('org', 'audit', 'Acme CLI')
    const entries = audit.data as { actor: string; action: string; details: Record<string, unknown> }[]
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ actor: 'cli', action: 'organization.settings_changed', details: { domainsAdded: ['xn--bcher-kva.test', 'beta.test', 'gamma.test'], domainsRemoved: ['acme.test'] } })
    expect(audit.nextCursor).toBeNull()
    expect(await roster('org', 'audit', 'Acme CLI')).toMatch(/cli\s+organization\.settings_changed\s+domains \+xn--bcher-kva\.test \+beta\.test \+gamma\.test -acme\.test; sendInvitations true -> false/)
  })

  it('org domain verify prints the TXT record to publish', async () => {
    await roster('org', 'create', 'Verify Co')
    const first = await json('org', 'domain', 'verify', 'Verify Co', 'Verify.TEST')
    expect(first).toMatchObject({ domain: 'verify.test', state: 'pending', record: { name: '_roster-verification.verify.test', value: expect.stringMatching(/^roster-verification=/) } })
    const shown = await json('org', 'show', 'Verify Co')
    expect(shown.domainStates).toEqual([first])
    await roster('org', 'create', 'Verify Too')
    const text = await roster('org', 'domain', 'verify', 'Verify Too', 'other-verify.test')
    expect(text).toContain('Publish this DNS TXT record')
    expect(text).toMatch(/name:\s+_roster-verification\.other-verify\.test/)
  })

  it('a bad flag or value exits 2 with a usage message; a refused domain exits 1 with the reason; shared domains need ROSTER_SHARED_DOMAINS=1', async () => {
    await roster('org', 'create', 'Flags Inc', '--domain', 'flags.test')
    const usage: [string[], string][] = [
      [['--send-invitations', 'maybe'], '--send-invitations takes on or off, got "maybe"'],
      [['--outside-domains', 'sometimes'], '--outside-domains: outsideDomains must be "refuse" or "allow"'],
      [['--deprovision', 'archive'], '--deprovision: deprovision must be "delete" or "suspend"'],
      [['--delete-after-days=abc'], '--delete-after-days takes a whole number of days'],
      [['--delete-after-days=99999'], '--delete-after-days: deleteAfterDays must be a whole number of days from 0 to 3650'],
      [['--scim-owned', 'password'], '--scim-owned: scimOwnedFields: "password" is not a user field'],
      [['--frobnicate'], "Unknown option '--frobnicate'"],
    ]
    for (const [flags, message] of usage) {
      await expect(roster('org', 'set', 'Flags Inc', ...flags), flags.join(' ')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(message) })
    }
    await expect(roster('org', 'show')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage: roster org show ORG') })
    await expect(roster('org', 'show', 'Flags Inc', '--domain-add', 'x.test')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--domain-add belongs to roster org set') })
    await expect(roster('org', 'audit', 'Flags Inc', '--limit', '0')).rejects.toMatchObject({ code: 2 })

    await expect(roster('org', 'set', 'Flags Inc', '--domain-add', '*.flags.test')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_DOMAIN: "*.flags.test" is a wildcard') })
    await expect(roster('org', 'set', 'Flags Inc', '--domain-add', 'gmail.com')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('Use --force') })
    expect((await json('org', 'set', 'Flags Inc', '--domain-add', 'gmail.com', '--force')).domains).toEqual(['flags.test', 'gmail.com'])
    await expect(roster('org', 'set', 'Nobody', '--subdomains', 'on')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_NOT_FOUND') })

    // Another organization's domain: refused, unless the operator allows shared domains.
    await expect(roster('org', 'create', 'Second', '--domain', 'flags.test')).rejects.toMatchObject({
      code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_DOMAIN_CLAIMED: flags.test is already listed by another organization'),
    })
    await roster('org', 'create', 'Second')
    await expect(roster('org', 'set', 'Second', '--domain-add', 'flags.test')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_SHARED_DOMAINS=1') })
    const shared = await run('node', [BIN, 'org', 'set', 'Second', '--domain-add', 'flags.test', '--json'], { env: { ...env, ROSTER_SHARED_DOMAINS: '1' } })
    expect((JSON.parse(shared.stdout) as { domains: string[] }).domains).toEqual(['flags.test'])
  })
})
