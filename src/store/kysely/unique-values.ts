// The unique index of declared attributes (store/unique-store.ts, migration 0012) over a write
// transaction's connection. A value's row is inserted with ON CONFLICT DO NOTHING: on PostgreSQL a
// second transaction inserting the same key waits for the first and then inserts nothing, so the
// loser learns it from the row count, with its transaction still usable to read the holder.
import { hash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type { UniqueConflict, UniqueEntry, UniqueTx } from '../unique-store.ts'
import type { OrgId, ResourceId } from '../store.ts'
import { all, chunks, run } from './conn-helpers.ts'
import { arg, prepare, type Conn } from './prepared.ts'
import type { Database } from './schema.ts'

export function uniqueStatements(b: Kysely<Database>, d: SqlDialect, lockRows: boolean) {
  const page = (table: 'users' | 'groups') => ({
    first: prepare(b.selectFrom(table).select(['id', 'data']).where('org_id', '=', arg(0)).orderBy('id').limit(arg(1))),
    after: prepare(b.selectFrom(table).select(['id', 'data']).where('org_id', '=', arg(0)).where('id', '>', arg(2)).orderBy('id').limit(arg(1))),
  })
  return {
    lockOrg: lockRows ? prepare(b.selectFrom('orgs').select('id').where('id', '=', arg(0)).forUpdate()) : null,
    insertUnique: prepare(b.insertInto('unique_values').values({ org_id: arg(0), schema_id: arg(1), attr: arg(2), value_key: arg(3), resource_id: arg(4) })
      .onConflict((oc) => oc.doNothing())),
    deleteUnique: prepare(b.deleteFrom('unique_values').where('org_id', '=', arg(0)).where('schema_id', '=', arg(1)).where('attr', '=', arg(2))
      .where('value_key', '=', arg(3)).where('resource_id', '=', arg(4))),
    uniqueHolder: prepare(b.selectFrom('unique_values').select('resource_id').where('org_id', '=', arg(0)).where('schema_id', '=', arg(1))
      .where('attr', '=', arg(2)).where('value_key', '=', arg(3))),
    // A rebuild's page of rows in one statement; those another row holds already are not returned.
    insertUniques: prepare(b.insertInto('unique_values').columns(['org_id', 'schema_id', 'attr', 'value_key', 'resource_id'])
      .expression((eb) => eb.selectFrom(d.recordSource(sql`${arg(1)}`, [['s', 'text'], ['a', 'text'], ['k', 'text'], ['i', 'text']], 'r') as never)
        .select([sql`${arg(0)}`.as('o'), sql.ref('r.s').as('s'), sql.ref('r.a').as('a'), sql.ref('r.k').as('k'), sql.ref('r.i').as('i')])
        .where(d.true as never))
      .onConflict((oc) => oc.doNothing()).returning(['attr', 'value_key', 'resource_id'])),
    dropUniqueSchema: prepare(b.deleteFrom('unique_values').where('org_id', '=', arg(0)).where('schema_id', '=', arg(1))),
    deleteResourceUniques: prepare(b.deleteFrom('unique_values').where('org_id', '=', arg(0)).where('resource_id', '=', arg(1))),
    scanUsers: page('users'),
    scanGroups: page('groups'),
  }
}
export type UniqueStatements = ReturnType<typeof uniqueStatements>

/** Rows per statement of a rebuild (each record is one bound JSON list, not one parameter per column). */
const INDEX_CHUNK = 1_000

/** The row's key: a SHA-256 of the comparison key, so a value of any length fits the index. */
function hashKey(key: string): string {
  return hash('sha256', key, 'hex')
}

function args(orgId: OrgId, e: UniqueEntry, resourceId: ResourceId): unknown[] {
  return [orgId, e.schema.toLowerCase(), e.name.toLowerCase(), hashKey(e.key), resourceId]
}

function same(a: UniqueEntry, b: UniqueEntry): boolean {
  return a.schema.toLowerCase() === b.schema.toLowerCase() && a.name.toLowerCase() === b.name.toLowerCase() && a.key === b.key
}

export class KyselyUniqueTx implements UniqueTx {
  readonly #c: Conn
  readonly #st: UniqueStatements
  readonly #d: SqlDialect

  constructor(conn: Conn, st: UniqueStatements, d: SqlDialect) {
    this.#c = conn
    this.#st = st
    this.#d = d
  }

  async lockDeclarations(orgId: OrgId): Promise<void> {
    if (this.#st.lockOrg) await all(this.#c, this.#st.lockOrg, [orgId])
  }

  async change(orgId: OrgId, resourceId: ResourceId, before: readonly UniqueEntry[], after: readonly UniqueEntry[]): Promise<UniqueConflict | null> {
    for (const e of before) if (!after.some((a) => same(a, e))) await run(this.#c, this.#st.deleteUnique, args(orgId, e, resourceId))
    for (const e of after) {
      if (before.some((b) => same(b, e))) continue
      if ((await run(this.#c, this.#st.insertUnique, args(orgId, e, resourceId))) === 1) continue
      const [holder] = await all<{ resource_id: string }>(this.#c, this.#st.uniqueHolder, args(orgId, e, resourceId).slice(0, 4))
      return { entry: e, holder: holder?.resource_id ?? null }
    }
    return null
  }

  async dropSchema(orgId: OrgId, schema: string): Promise<void> {
    await run(this.#c, this.#st.dropUniqueSchema, [orgId, schema.toLowerCase()])
  }

  async index(orgId: OrgId, rows: readonly { readonly resourceId: ResourceId; readonly entry: UniqueEntry }[]): Promise<readonly UniqueEntry[]> {
    const taken: UniqueEntry[] = []
    for (const part of chunks(rows, INDEX_CHUNK)) {
      const records = part.map((r) => ({ s: r.entry.schema.toLowerCase(), a: r.entry.name.toLowerCase(), k: hashKey(r.entry.key), i: r.resourceId }))
      const inserted = await all<{ attr: string; value_key: string; resource_id: string }>(this.#c, this.#st.insertUniques, [orgId, this.#d.records(records)])
      const done = new Set(inserted.map((x) => `${x.attr}\n${x.value_key}\n${x.resource_id}`))
      part.forEach((r, i) => {
        const rec = records[i] as { a: string; k: string; i: string }
        if (!done.has(`${rec.a}\n${rec.k}\n${rec.i}`)) taken.push(r.entry)
      })
    }
    return taken
  }

  async scan(orgId: OrgId, type: 'User' | 'Group', after: ResourceId | null, limit: number): Promise<readonly { id: ResourceId; body: Record<string, unknown> }[]> {
    const st = type === 'User' ? this.#st.scanUsers : this.#st.scanGroups
    const rows = after === null ? await all<{ id: string; data: unknown }>(this.#c, st.first, [orgId, limit]) : await all<{ id: string; data: unknown }>(this.#c, st.after, [orgId, limit, after])
    return rows.map((r) => ({ id: r.id, body: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown> }))
  }
}
