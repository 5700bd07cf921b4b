// A COMMIT whose connection dies before its answer (PostgreSQL crashed, or the network cut, with
// the COMMIT on the wire) may have committed. Found by npm run chaos with PostgreSQL crashed
// under Roster (test/reliability/lib/chaos.ts): writes answered 503 were there after recovery,
// with their 2xx provisioning-log rows and their events. The store now takes the transaction's id
// with its BEGIN and, when the COMMIT's connection dies, asks PostgreSQL (txid_status) on another
// connection whether it committed: committed is a success, aborted stays 503.
// A proxy between the store and PostgreSQL cuts the connection once, right after passing a COMMIT
// on (PostgreSQL commits it), or instead of passing it on (PostgreSQL rolls back).
import net from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uuidV7Generator } from '../../ids.ts'
import { DEFAULT_LIMITS, type Deps } from '../../provisioning/deps.ts'
import { createOrg } from '../../provisioning/orgs.ts'
import { createTestDatabase } from '../../../test/helpers/pg-database.ts'
import { StoreUnavailable } from '../store.ts'
import { openPostgresStore } from './postgres.ts'

const adminUrl = process.env.TEST_DATABASE_URL

type Cut = 'none' | 'after-commit' | 'instead-of-commit'

/** A TCP proxy to `target` that cuts, once, the connection of the next COMMIT of a transaction that inserted an organization, as `cut` says. */
function proxy(target: URL): { port: () => number; cut: (how: Cut) => void; close: () => Promise<void> } {
  let mode: Cut = 'none'
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(client).add(upstream)
    let buffered = Buffer.alloc(0)
    let started = false
    let cutting = false
    let insertedOrg = false
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    upstream.on('data', (d) => {
      if (!cutting) client.write(d)
    })
    client.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d])
      // Messages: the startup one untyped (length first), then a type byte and a length.
      for (;;) {
        const typed = started ? 1 : 0
        if (buffered.length < typed + 4) return
        const size = typed + buffered.readInt32BE(typed)
        if (buffered.length < size) return
        const message = buffered.subarray(0, size)
        buffered = buffered.subarray(size)
        started = true
        // The transaction to cut is the one that inserted an organization (not the event stamper's).
        if (typed === 1 && message.includes('insert into "orgs"')) insertedOrg = true
        const isCommit = typed === 1 && message[0] === 0x51 && /^\s*commit\s*$/i.test(message.subarray(5, size - 1).toString())
        if (isCommit && insertedOrg && mode !== 'none') {
          const how = mode
          mode = 'none'
          cutting = true
          if (how === 'after-commit') {
            upstream.write(message)
            setTimeout(end, 300)
          } else end()
          return
        }
        if (isCommit) insertedOrg = false
        upstream.write(message)
      }
    })
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  })
  server.listen(0, '127.0.0.1')
  return {
    port: () => (server.address() as net.AddressInfo).port,
    cut: (how) => {
      mode = how
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

describe.skipIf(!adminUrl)('a COMMIT whose connection dies before its answer', () => {
  let db: { url: string; drop: () => Promise<void> }
  let p: ReturnType<typeof proxy>
  let deps: Deps
  let close: () => Promise<void>

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl as string, 'roster_in_doubt')
    const url = new URL(db.url)
    p = proxy(url)
    await new Promise((r) => setTimeout(r, 50))
    const through = new URL(db.url)
    through.hostname = '127.0.0.1'
    through.port = String(p.port())
    const store = await openPostgresStore({ url: through.toString(), migrate: true })
    deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    close = () => store.close()
  })

  afterAll(async () => {
    await close?.()
    await p?.close()
    await db?.drop()
  })

  async function orgsNamed(name: string): Promise<number> {
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    try {
      return (await c.query('select count(*)::int as n from orgs where name = $1', [name])).rows[0].n as number
    } finally {
      await c.end()
    }
  }

  it('that committed is a success: the change is there, answered once', async () => {
    p.cut('after-commit')
    const created = await createOrg(deps, 'in-doubt committed', [])
    expect(created.orgId).toBeTruthy()
    expect(await orgsNamed('in-doubt committed')).toBe(1)
  })

  it('that never reached PostgreSQL is unavailable (503), and nothing was written', async () => {
    p.cut('instead-of-commit')
    await expect(createOrg(deps, 'in-doubt lost', [])).rejects.toBeInstanceOf(StoreUnavailable)
    expect(await orgsNamed('in-doubt lost')).toBe(0)
  })

  it('and the store goes on serving', async () => {
    await createOrg(deps, 'after the cuts', [])
    expect(await orgsNamed('after the cuts')).toBe(1)
  })
})
