// server_info rows (migration 0013, store/operations-store.ts): a running server's public base
// URL, read by the CLI. A small transaction of its own that changes no list data.
import { sql } from 'kysely'
import type { ServerInfoStore } from '../operations-store.ts'
import { RawQueries } from './raw-queries.ts'
import type { StoreDriver } from './store-driver.ts'

export class KyselyServerInfo implements ServerInfoStore {
  readonly #q: RawQueries

  constructor(driver: StoreDriver) {
    this.#q = new RawQueries(driver)
  }

  async record(name: string, value: string, at: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`insert into server_info (name, value, updated_at) values (${name}, ${value}, ${at})
      on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at`))
  }

  async read(name: string): Promise<{ value: string; at: string } | null> {
    const [r] = await this.#q.read<{ value: string; updated_at: string }>(sql`select value, updated_at from server_info where name = ${name}`)
    return r ? { value: r.value, at: r.updated_at } : null
  }
}
