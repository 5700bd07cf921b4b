// Differential test of filter-to-SQL against the reference evaluator on an organization's
// declared attributes (docs/custom-attributes.md): a declared extension with a case-insensitive
// and a case-exact string, an integer, a boolean, a dateTime, a multi-valued string, a complex
// attribute and a multi-valued complex one, over adversarial values; random filters answered by
// the real HTTP app on each store and by the evaluator with the organization's resource type.
// FILTER_SEED=<n> replays a run (FILTER_CASES=<n> changes the count).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { orgResources } from '../../src/provisioning/org-schemas.ts'
import { declareSchema } from '../../src/provisioning/org-schemas.ts'
import { ScimError } from '../../src/scim/errors.ts'
import { compileFilter } from '../../src/scim/filter/evaluate.ts'
import { parseFilter } from '../../src/scim/filter/parser.ts'
import type { ResourceSchema } from '../../src/scim/schema/registry.ts'
import { prng, randomFilter, type Grammar } from '../helpers/filter-fuzz.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const EXT = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User'
const SEED = Number(process.env.FILTER_SEED ?? Math.floor(Math.random() * 2 ** 31))
const CASES = Math.max(200, Math.floor(Number(process.env.FILTER_CASES ?? 2_000) / 4))

const TEXT = ['Alpha', 'ALPHA', 'alpha ', '', 'Ｆｕｌｌ', 'Émile', 'émile', '100%_x\\', 'zoe\u0308', 'Zoë', '😀 smile', 'a%b', 'A_B', 'straße']
const CODES = ['AB-1', 'ab-1', 'AB-2', 'Ab-1', '', 'z', 'Z']
const DATES = ['2026-01-05T00:00:00Z', '2026-01-05T02:00:00+02:00', '2025-12-31T23:59:59.999Z', '2027-06-01T12:00:00Z']
const TAGS: (string[] | undefined)[] = [undefined, ['x'], ['X', 'y'], [''], ['Émile', 'émile'], ['a%b', 'z'], []]
const OFFICES: (Record<string, unknown> | undefined)[] = [undefined, { building: 'North', floor: 4 }, { building: 'north' }, { floor: 0 }, { building: '' }, { building: 'Süd', floor: -1 }]
const CERTS: (Record<string, unknown>[] | undefined)[] = [
  undefined, [{ name: 'AWS', level: 2 }], [{ name: 'aws', level: 3 }, { name: 'GCP' }], [{ level: 1 }], [{ name: '' }], [{ name: 'Ｋ８ｓ', level: 5 }, { name: 'k8s', level: 0 }],
]

const declaration = {
  id: EXT,
  attributes: [
    { name: 'label', type: 'string' },
    { name: 'code', type: 'string', caseExact: true },
    { name: 'level', type: 'integer' },
    { name: 'manager', type: 'boolean' },
    { name: 'since', type: 'dateTime' },
    { name: 'tags', type: 'string', multiValued: true },
    { name: 'office', type: 'complex', subAttributes: [{ name: 'building', type: 'string' }, { name: 'floor', type: 'integer' }] },
    { name: 'certs', type: 'complex', multiValued: true, subAttributes: [{ name: 'name', type: 'string' }, { name: 'level', type: 'integer' }] },
  ],
}

const at = <T>(xs: readonly T[], i: number): T => xs[i % xs.length] as T

function body(i: number): Record<string, unknown> {
  const ext: Record<string, unknown> = {}
  const set = (k: string, v: unknown) => {
    if (v !== undefined) ext[k] = v
  }
  set('label', i % 5 === 4 ? undefined : at(TEXT, i * 3))
  set('code', i % 4 === 3 ? undefined : at(CODES, i))
  set('level', i % 6 === 5 ? undefined : (i * 7) % 11 - 3)
  set('manager', i % 3 === 2 ? undefined : i % 2 === 0)
  set('since', i % 5 === 1 ? undefined : at(DATES, i))
  set('tags', at(TAGS, i * 2 + 1))
  set('office', at(OFFICES, i))
  set('certs', at(CERTS, i * 5))
  return { schemas: [USER, EXT], userName: `custom${i}@example.com`, ...(Object.keys(ext).length > 0 ? { [EXT]: ext } : {}) }
}

describe.each(storeMatrix())('filters on declared attributes agree with the reference evaluator on $name', (factory) => {
  let t: TestApp
  let org: { orgId: string; token: string }
  let rs: ResourceSchema
  let users: Record<string, unknown>[] = []

  beforeAll(async () => {
    t = await startApp(factory)
    org = await t.newOrg(`custom-differential-${SEED}`)
    await declareSchema(t.deps, org.orgId, declaration, 'test')
    rs = (await orgResources(t.deps, org.orgId as never)).user
    for (let i = 0; i < 40; i++) {
      const r = await t.req('POST', '/Users', body(i), { token: org.token })
      expect(r.status, r.text).toBe(201)
    }
    users = (await t.req('GET', '/Users?count=1000', undefined, { token: org.token })).json.Resources ?? []
    expect(users).toHaveLength(40)
  })
  afterAll(async () => t.close())

  function expected(filter: string): unknown {
    try {
      const test = compileFilter(rs, parseFilter(filter))
      return { ids: users.filter(test).map((r) => String(r.id)).sort() }
    } catch (e) {
      if (e instanceof ScimError) return { error: { status: e.status, scimType: e.scimType } }
      throw e
    }
  }

  async function actual(filter: string): Promise<unknown> {
    const r = await t.req('GET', `/Users?filter=${encodeURIComponent(filter)}&count=1000&attributes=id`, undefined, { token: org.token })
    if (r.status !== 200) return { error: { status: r.status, scimType: (r.json.scimType as string | undefined) ?? null } }
    return { ids: (r.json.Resources ?? []).map((x) => String(x.id)).sort() }
  }

  function grammar(): Grammar {
    const ext = (u: Record<string, unknown>) => (u[EXT] ?? {}) as Record<string, unknown>
    const pool = (get: (u: Record<string, unknown>) => unknown) => [...new Set(users.flatMap((u) => [get(u)].flat()).filter((v): v is string => typeof v === 'string'))]
    const certNames = pool((u) => ((ext(u).certs ?? []) as Record<string, unknown>[]).map((c) => c.name))
    return {
      attrs: [
        { names: [`${EXT}:label`, `${EXT.toUpperCase()}:LABEL`], kind: 'string', pool: pool((u) => ext(u).label) },
        { names: [`${EXT}:code`], kind: 'string', pool: pool((u) => ext(u).code) },
        { names: [`${EXT}:manager`], kind: 'boolean', pool: [] },
        { names: [`${EXT}:since`], kind: 'dateTime', pool: [] },
        { names: [`${EXT}:tags`], kind: 'string', pool: pool((u) => ext(u).tags) },
        { names: [`${EXT}:office.building`], kind: 'string', pool: pool((u) => (ext(u).office as Record<string, unknown> | undefined)?.building) },
        { names: [`${EXT}:office`], kind: 'complex', pool: [] },
        { names: [`${EXT}:certs.name`, `${EXT}:certs`], kind: 'string', pool: certNames },
        { names: ['userName'], kind: 'string', pool: pool((u) => u.userName) },
      ],
      dates: [...DATES, '2026-01-05T00:00:00.000Z', '2026-01-04T23:59:59Z', '2000-01-01T00:00:00Z'],
      invalid: [`${EXT}:nothing`, `${EXT}:office.nothing`, 'label'],
      valuePaths: [{ name: `${EXT}:certs`, subs: [{ name: 'name', kind: 'string', pool: certNames }] }],
    }
  }

  it(`${CASES} random filters on declared attributes (seed ${SEED})`, async () => {
    const rng = prng(SEED)
    const g = grammar()
    // Integers: the grammar writes strings, so the numeric comparisons are listed here.
    const numeric = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'].flatMap((op) => [-3, 0, 2, 7].flatMap((v) => [
      `${EXT}:level ${op} ${v}`, `${EXT}:office.floor ${op} ${v}`, `${EXT}:certs[level ${op} ${v}]`, `not (${EXT}:level ${op} ${v}) and ${EXT}:manager eq true`,
    ]))
    const filters = [...numeric, ...Array.from({ length: CASES }, () => randomFilter(rng, g))]
    const bad: { filter: string; expected: unknown; actual: unknown }[] = []
    let some = 0
    for (let i = 0; i < filters.length; i += 8) {
      await Promise.all(filters.slice(i, i + 8).map(async (filter) => {
        const want = expected(filter)
        const got = await actual(filter)
        if (JSON.stringify(want) !== JSON.stringify(got)) bad.push({ filter, expected: want, actual: got })
        const ids = (want as { ids?: string[] }).ids
        if (ids && ids.length > 0 && ids.length < users.length) some++
      }))
    }
    expect(bad.slice(0, 10), `FILTER_SEED=${SEED}: ${bad.length} of ${filters.length} disagree`).toEqual([])
    expect(some).toBeGreaterThan(filters.length * 0.25)
  }, 120_000)
})
