// An organization's declared schemas (store/schema-store.ts) over the store's driver: the
// declarations with their version for any reader, and their changes inside a write
// transaction, each of which moves orgs.schema_version.
import { type Kysely } from 'kysely'
import type { DeclaredSchemas, SchemaStore, SchemaTx, StoredSchema } from '../schema-store.ts'
import type { OrgId } from '../store.ts'
import { all, run } from './conn-helpers.ts'
import { arg, prepare, type Conn } from './prepared.ts'
import type { Database, OrgSchemasTable } from './schema.ts'
import type { StoreDriver } from './store-driver.ts'

export function schemaStatements(b: Kysely<Database>) {
  return {
    schemaVersion: prepare(b.selectFrom('orgs').select('schema_version').where('id', '=', arg(0))),
    schemaRows: prepare(b.selectFrom('org_schemas').selectAll().where('org_id', '=', arg(0)).orderBy('created_at').orderBy('id_folded')),
    schemaRow: prepare(b.selectFrom('org_schemas').select('created_at').where('org_id', '=', arg(0)).where('id_folded', '=', arg(1))),
    insertSchema: prepare(b.insertInto('org_schemas').values({ org_id: arg(0), id_folded: arg(1), resource_type: arg(2), definition: arg(3), created_at: arg(4), updated_at: arg(4) })),
    updateSchema: prepare(b.updateTable('org_schemas').set({ resource_type: arg(2), definition: arg(3), updated_at: arg(4) }).where('org_id', '=', arg(0)).where('id_folded', '=', arg(1))),
    deleteSchema: prepare(b.deleteFrom('org_schemas').where('org_id', '=', arg(0)).where('id_folded', '=', arg(1))),
    bumpSchemaVersion: prepare(b.updateTable('orgs').set((eb) => ({ schema_version: eb('schema_version', '+', 1) })).where('id', '=', arg(0))),
  }
}
export type SchemaStatements = ReturnType<typeof schemaStatements>

function toStored(r: OrgSchemasTable): StoredSchema {
  return {
    definition: JSON.parse(r.definition) as Record<string, unknown>,
    resourceType: r.resource_type === 'Group' ? 'Group' : 'User',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

async function rowsOf(conn: Conn, st: SchemaStatements, orgId: OrgId): Promise<StoredSchema[]> {
  return (await all<OrgSchemasTable>(conn, st.schemaRows, [orgId])).map(toStored)
}

export class KyselySchemas implements SchemaStore {
  readonly #d: StoreDriver
  readonly #st: SchemaStatements

  constructor(driver: StoreDriver, st: SchemaStatements) {
    this.#d = driver
    this.#st = st
  }

  declared(orgId: OrgId): Promise<DeclaredSchemas> {
    // The version first, then the rows: a change committed between the two pairs newer rows with
    // the older version, which the next request's newer version replaces; never the reverse,
    // which would keep older rows under the newer version.
    return this.#d.read(async () => {
      const [v] = await all<{ schema_version: number | string }>(this.#d.reader, this.#st.schemaVersion, [orgId])
      return { version: Number(v?.schema_version ?? 0), schemas: await rowsOf(this.#d.reader, this.#st, orgId) }
    })
  }
}

export class KyselySchemaTx implements SchemaTx {
  readonly #c: Conn
  readonly #st: SchemaStatements

  constructor(conn: Conn, st: SchemaStatements) {
    this.#c = conn
    this.#st = st
  }

  list(orgId: OrgId): Promise<readonly StoredSchema[]> {
    return rowsOf(this.#c, this.#st, orgId)
  }

  async put(orgId: OrgId, urn: string, resourceType: 'User' | 'Group', definition: Record<string, unknown>, now: string): Promise<boolean> {
    const key = urn.toLowerCase()
    const [existing] = await all<{ created_at: string }>(this.#c, this.#st.schemaRow, [orgId, key])
    const text = JSON.stringify(definition)
    if (existing) await run(this.#c, this.#st.updateSchema, [orgId, key, resourceType, text, now])
    else await run(this.#c, this.#st.insertSchema, [orgId, key, resourceType, text, now])
    await run(this.#c, this.#st.bumpSchemaVersion, [orgId])
    return existing !== undefined
  }

  async remove(orgId: OrgId, urn: string): Promise<boolean> {
    const n = await run(this.#c, this.#st.deleteSchema, [orgId, urn.toLowerCase()])
    if (n > 0) await run(this.#c, this.#st.bumpSchemaVersion, [orgId])
    return n > 0
  }
}
