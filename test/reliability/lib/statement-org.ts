// The statement checker of statement-org.test.ts: every SQL statement a store executes is seen
// (src/store/kysely/observed.ts) with the async context of the request that caused it; a
// statement that reads or writes a table with an org_id column must name org_id, bind the
// caller's organization and no other one, unless an allowlist entry says why it spans
// organizations. The tables come from the schema itself: every table with an org_id column.
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { openSqliteStore } from '../../../src/store/dialect/sqlite.ts'
import type { ObservedStatement } from '../../../src/store/kysely/observed.ts'
import type { Store } from '../../../src/store/store.ts'
import { createTestDatabase } from '../../helpers/pg-database.ts'
import type { StoreFactory } from '../../helpers/stores.ts'

/** Whose request a statement serves: the organization the caller's credential (or console path) names. */
export interface Caller { readonly org: string; readonly what: string }

export interface Seen extends ObservedStatement {
  /** Undefined: no request caused it (set-up through the use cases, the server's own loops). */
  readonly caller: Caller | undefined
}

/**
 * A statement that legitimately spans organizations, and why. `part`: only the text `sql` matches
 * spans them (a subquery); it is cut out and the rest of the statement is checked as any other.
 */
export interface Allowed { readonly name: string; readonly sql: RegExp; readonly why: string; readonly part?: boolean }

/** The statements of one store, each with the caller whose async context issued it. */
export class StatementLog {
  readonly callers = new AsyncLocalStorage<Caller>()
  readonly seen: Seen[] = []
  observe = (s: ObservedStatement): void => {
    this.seen.push({ ...s, caller: this.callers.getStore() })
  }

  as<T>(caller: Caller, fn: () => Promise<T>): Promise<T> {
    return this.callers.run(caller, fn)
  }
}

/** The store matrix (test/helpers/stores.ts) with every statement going to `log`; the SQLite store with one read worker. */
export function observedStores(names: readonly ('sqlite' | 'postgres')[], log: () => StatementLog): StoreFactory[] {
  const sqlite: StoreFactory = {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'roster-test-'))
      const path = join(dir, 'roster.db')
      const store = await openSqliteStore({ path, readWorkers: 1, observe: (s) => log().observe(s) })
      return { store, url: `sqlite:${path}`, cleanup: async () => {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      } }
    },
  }
  const url = process.env.TEST_DATABASE_URL
  const postgres: StoreFactory = {
    name: 'postgres',
    async open() {
      const db = await createTestDatabase(url as string, 'roster_test')
      const { openPostgresStore } = await import('../../../src/store/dialect/postgres.ts')
      const store: Store = await openPostgresStore({ url: db.url, poolSize: 8, observe: (s) => log().observe(s) })
      return { store, url: db.url, cleanup: async () => {
        await store.close()
        await db.drop()
      } }
    },
  }
  return names.flatMap((n) => (n === 'sqlite' ? [sqlite] : url ? [postgres] : []))
}

/** Every table of the database (`url` as the factory gave it) with an org_id column. */
export async function orgScopedTables(url: string): Promise<Set<string>> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    try {
      const rows = db.prepare("select m.name as name from sqlite_master m, pragma_table_info(m.name) c where m.type = 'table' and c.name = 'org_id'").all() as { name: string }[]
      return new Set(rows.map((r) => r.name))
    } finally {
      db.close()
    }
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const r = await c.query<{ name: string }>("select table_name as name from information_schema.columns where table_schema = current_schema() and column_name = 'org_id'")
    return new Set(r.rows.map((x) => x.name))
  } finally {
    await c.end()
  }
}

const TABLE_REF = /\b(?:from|join|into|update)\s+"?([a-z_][a-z0-9_]*)"?/gi

/** The tables a statement reads or writes, once per reference (a self-join names its table twice). */
export function tableRefs(sql: string): string[] {
  return [...sql.replace(/'(?:[^']|'')*'/g, "''").matchAll(TABLE_REF)].map((m) => (m[1] as string).toLowerCase())
}

const HEX = /^[0-9a-f]{32}$/

/** The organizations among `known` whose id appears in the arguments (text, JSON lists, arrays, 16-byte keys). */
export function orgsBound(params: readonly unknown[], known: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const id of known) if (v.includes(id)) out.add(id)
    } else if (v instanceof Uint8Array) {
      const h = Buffer.from(v).toString('hex')
      if (v.length === 16 && HEX.test(h)) visit(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`)
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x)
    }
  }
  for (const p of params) visit(p)
  return out
}

/** What is wrong with one statement, or null. `allowed` first: a statement it matches is not checked further. */
export function problemOf(s: Seen, orgTables: ReadonlySet<string>, known: ReadonlySet<string>): string | null {
  const refs = tableRefs(s.sql).filter((t) => orgTables.has(t))
  const bound = orgsBound(s.params, known)
  const caller = s.caller?.org
  const others = caller === undefined ? [] : [...bound].filter((o) => o !== caller)
  if (others.length > 0) return `binds another organization's id (${others.join(', ')}) in a request of ${caller}`
  if (refs.length === 0) return null
  const mentions = s.sql.match(/\borg_id\b/gi)?.length ?? 0
  if (mentions === 0) return `reads or writes ${[...new Set(refs)].join(', ')} without org_id`
  if (mentions < refs.length) return `${refs.length} references of organization tables (${refs.join(', ')}) but ${mentions} of org_id`
  if (caller !== undefined && !bound.has(caller)) return `constrains org_id without binding the caller's organization (${caller})`
  return null
}

export interface Report {
  /** Distinct statement texts with a problem, each with its first occurrence. */
  readonly problems: string[]
  /** Statements matched by each allowlist entry. */
  readonly allowedUses: Map<string, number>
  readonly checked: number
  readonly scoped: number
}

/** Checks every statement of `seen`; a problem is reported once per statement text and reason. */
export function check(seen: readonly Seen[], orgTables: ReadonlySet<string>, known: ReadonlySet<string>, allow: readonly Allowed[]): Report {
  const problems = new Map<string, string>()
  const allowedUses = new Map(allow.map((a) => [a.name, 0]))
  let scoped = 0
  for (const seenAs of seen) {
    let s = seenAs
    const a = allow.find((x) => x.sql.test(s.sql))
    if (a) {
      allowedUses.set(a.name, (allowedUses.get(a.name) ?? 0) + 1)
      if (!a.part) continue
      s = { ...s, sql: s.sql.replace(a.sql, '') }
    }
    if (tableRefs(s.sql).some((t) => orgTables.has(t))) scoped++
    const p = problemOf(s, orgTables, known)
    if (p === null) continue
    const key = `${p.replace(/\(.*\)/, '')}\n${s.sql}`
    if (!problems.has(key)) problems.set(key, `${p}\n  ${s.caller ? `request ${s.caller.what}` : 'no request'} on ${s.conn}\n  ${s.sql.slice(0, 600)}\n  params ${JSON.stringify(s.params, (_k, v: unknown) => (v instanceof Uint8Array || (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer') ? '<bytes>' : v)).slice(0, 300)}`)
  }
  return { problems: [...problems.values()], allowedUses, checked: seen.length, scoped }
}
