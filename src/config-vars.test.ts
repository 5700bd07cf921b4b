// docs/configuration.md is what src/config-vars.ts generates, and config-vars.ts lists exactly
// the variables the code reads (src/config.ts, bin/roster.js): neither can drift.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ENV_VARS, configurationDoc } from './config-vars.ts'

const read = (p: string) => readFileSync(join(import.meta.dirname, '..', p), 'utf8')

/** Names the code reads: env.NAME, env['NAME'], and the name arguments of config.ts's readers. */
function namesRead(source: string): Set<string> {
  const names = new Set<string>()
  for (const re of [/env\.([A-Z][A-Z0-9_]+)/g, /env\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /\((?:env, )?'([A-Z][A-Z0-9_]+)'/g]) {
    for (const m of source.matchAll(re)) names.add(m[1] as string)
  }
  return names
}

describe('configuration', () => {
  it('docs/configuration.md is generated from the list (npm run docs:config)', () => {
    expect(read('docs/configuration.md')).toBe(configurationDoc())
  })

  it('the list names every variable the code reads, and only those', () => {
    const read_ = new Set([...namesRead(read('src/config.ts')), ...namesRead(read('bin/roster.js'))])
    expect([...read_].filter((n) => !n.startsWith('ROSTER_ERR_')).sort()).toEqual(ENV_VARS.map((v) => v.name).sort())
  })
})
