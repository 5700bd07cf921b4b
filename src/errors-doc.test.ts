// docs/errors.md names every stable error code the code can print, so that an operator who meets
// one finds what it means: each ROSTER_ERR_… literal in src/, and the ROSTER_ERR_CONFIG_<NAME> of
// every bounded number config.ts reads.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return /\.(ts|mjs)$/.test(e.name) && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

describe('docs/errors.md', () => {
  it('names every ROSTER_ERR_ code in src/', () => {
    const codes = new Set<string>()
    for (const f of sources(join(ROOT, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/ROSTER_ERR_[A-Z0-9_]*[A-Z0-9]/g)) codes.add(m[0])
    // A prefix the code completes with a variable's name (below), not a code of its own.
    codes.delete('ROSTER_ERR_CONFIG')
    expect(codes.size).toBeGreaterThan(40)
    expect([...codes].filter((c) => !doc.includes(`\`${c}\``)).sort()).toEqual([])
  })

  it('names the code of every bounded number config.ts reads', () => {
    const config = readFileSync(join(ROOT, 'src/config.ts'), 'utf8')
    const names = [...config.matchAll(/int\(env, '([A-Z0-9_]+)'/g)].map((m) => m[1] as string)
    expect(names.length).toBeGreaterThan(15)
    expect(names.filter((n) => !doc.includes(`ROSTER_ERR_CONFIG_${n}`)).sort()).toEqual([])
  })
})
