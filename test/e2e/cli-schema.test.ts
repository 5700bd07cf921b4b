// `roster schema add|list|remove` as an operator and a script run them (bin/roster.js on a
// SQLite file): a declaration read from a JSON file, its --json view, exit code 1 naming the part
// of a declaration at fault, 2 for a missing argument, and the audit entries `cli` made.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const URN = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'

describe('roster schema', () => {
  let dir = ''
  let env: NodeJS.ProcessEnv = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-cli-schema-'))
    env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, LOG_LEVEL: 'warn' }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const roster = (...args: string[]) => run('node', [BIN, ...args], { env })
  const fails = async (...args: string[]) => {
    try {
      await roster(...args)
    } catch (e) {
      const err = e as { code: number; stderr: string }
      return { code: err.code, stderr: err.stderr }
    }
    throw new Error(`roster ${args.join(' ')} succeeded`)
  }

  it('adds a declaration from a file, lists it, refuses a bad one by name, removes it; each change audited as cli', async () => {
    await roster('org', 'create', 'Schema Co')
    const file = join(dir, 'ext.json')
    writeFileSync(file, JSON.stringify({ id: URN, attributes: [{ name: 'costCenter', type: 'string', maxLength: 10 }, { name: 'level', type: 'integer' }] }))
    const added = JSON.parse((await roster('schema', 'add', 'Schema Co', file, '--json')).stdout) as Record<string, unknown>
    expect(added).toMatchObject({ id: URN, resourceType: 'User', replaced: false, changed: true })
    expect((await roster('schema', 'add', 'Schema Co', file)).stdout).toMatch(/unchanged/)
    const listed = JSON.parse((await roster('schema', 'list', 'Schema Co', '--json')).stdout) as { id: string }[]
    expect(listed.map((s) => s.id)).toEqual([URN])
    expect((await roster('schema', 'list', 'Schema Co')).stdout).toContain(`${URN}  User  costCenter, level`)

    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ id: URN, attributes: [{ name: 'x', type: 'string', pattern: '(a+)+' }] }))
    const refused = await fails('schema', 'add', 'Schema Co', bad)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error ROSTER_ERR_SCHEMA: attributes\[0\]\.pattern: is refused/)
    writeFileSync(bad, '{ not json')
    expect((await fails('schema', 'add', 'Schema Co', bad)).stderr).toMatch(/ROSTER_ERR_SCHEMA: .*is not JSON/)
    expect((await fails('schema', 'add', 'Schema Co')).code).toBe(2)

    const mapped = JSON.parse((await roster('org', 'set', 'Schema Co', '--attribute-map', `title=jobTitle,${URN}:costCenter=costCenter`, '--json')).stdout) as Record<string, unknown>
    expect(mapped.attributeMapping).toEqual({ title: 'jobTitle', [`${URN}:costCenter`]: 'costCenter' })
    expect((await fails('org', 'set', 'Schema Co', '--attribute-map', 'title')).code).toBe(2)

    expect((await roster('schema', 'remove', 'Schema Co', URN)).stdout).toMatch(/^Removed /)
    expect((await fails('schema', 'remove', 'Schema Co', URN)).stderr).toMatch(/ROSTER_ERR_SCHEMA_NOT_FOUND/)
    const audit = JSON.parse((await roster('org', 'audit', 'Schema Co', '--json')).stdout) as { data: { actor: string; action: string }[] }
    expect(audit.data.map((e) => [e.actor, e.action])).toEqual([['cli', 'organization.schema_removed'], ['cli', 'organization.settings_changed'], ['cli', 'organization.schema_declared']])
  })
})
