// A member added while it is deleted (docs/architecture.md ROS-3): on PostgreSQL the add checked
// that the user existed without locking it, so a concurrent DELETE could commit in between and
// leave a membership row pointing at nothing. Now the add locks its members FOR KEY SHARE: after
// any interleaving of adds and deletes no membership row lacks its member, and each group's
// member count equals its rows. (SQLite's single writer orders them already; it runs too.)
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { patchOp, startApp, user } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'

const DANGLING = `select count(*) as n from group_members m
  where not exists (select 1 from users u where u.org_id = m.org_id and u.id = m.member_id)
    and not exists (select 1 from groups g where g.org_id = m.org_id and g.id = m.member_id)`
const COUNTS = `select count(*) as n from groups g
  where g.member_count <> (select count(*) from group_members m where m.org_id = g.org_id and m.group_id = g.id)`

async function query(url: string, text: string): Promise<number> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    try {
      return Number((db.prepare(text).get() as { n: number }).n)
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return Number((await client.query<{ n: string }>(text)).rows[0]?.n)
  } finally {
    await client.end()
  }
}

describe.each(storeMatrix())('adding members while they are deleted on $name', (base) => {
  it('leaves no membership row without its member, and every member count right', async () => {
    const { factory, url } = remembering(base)
    const t = await startApp(factory)
    try {
      const groups: string[] = []
      for (let g = 0; g < 3; g++) {
        const r = await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `race-${g}` })
        expect(r.status).toBe(201)
        groups.push(String(r.json.id))
      }
      const statuses: number[] = []
      for (let round = 0; round < 3; round++) {
        const ids: string[] = []
        for (let i = 0; i < 20; i++) ids.push(String((await t.req('POST', '/Users', user(`race-${round}-${i}`))).json.id))
        // Each user is added to every group and deleted, all at once.
        const rs = await Promise.all(ids.flatMap((id) => [
          ...groups.map((g) => t.req('PATCH', `/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] }))),
          t.req('DELETE', `/Users/${id}`),
        ]))
        statuses.push(...rs.map((r) => r.status))
      }
      // An add that lost the race is a 400 (the member is gone); nothing else fails.
      expect(statuses.every((s) => s === 204 || s === 400)).toBe(true)
      expect(await query(url(), DANGLING)).toBe(0)
      expect(await query(url(), COUNTS)).toBe(0)
    } finally {
      await t.close()
    }
  }, 60_000)
})
