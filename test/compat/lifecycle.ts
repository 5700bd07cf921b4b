// Shared lifecycles for identity providers whose documentation gives the sequence but not every
// body: the steps an RFC 7644 client takes, with the caller's User-Agent, update style (PATCH or
// PUT) and attributes. Entra ID and Okta have their own, verbatim, tests.
import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import type { Res, TestApp } from '../helpers/app.ts'

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const q = encodeURIComponent

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type Client = (method: Method, path: string, body?: unknown) => Promise<Res>

export function client(t: TestApp, userAgent: string): Client {
  return (method, path, body) => t.req(method, path, body, { headers: { 'user-agent': userAgent } })
}

export interface UserLifecycle {
  readonly updates: 'patch' | 'put'
  /** The create body; `userName` is filled in. */
  readonly create: (userName: string) => Record<string, unknown>
  /** Attribute changes, each checked on the answer and on a later GET. */
  readonly changes: readonly Record<string, unknown>[]
  readonly lookupBy?: 'userName' | 'externalId'
  /** Whether the identity provider deletes users (else it only deactivates them). */
  readonly deletes: boolean
}

/** probe, lookup, create, read, update each change, deactivate, reactivate, delete. */
export async function userLifecycle(c: Client, spec: UserLifecycle): Promise<string> {
  const probe = await c('GET', `/Users?filter=${q(`userName eq "${randomUUID()}"`)}`)
  expect(probe.status).toBe(200)
  expect(probe.json).toMatchObject({ totalResults: 0, Resources: [] })

  const userName = `${randomUUID().slice(0, 8)}@example.com`
  const body = spec.create(userName)
  const by = spec.lookupBy ?? 'userName'
  const key = String(body[by] ?? userName)
  expect((await c('GET', `/Users?filter=${q(`${by} eq "${key}"`)}`)).json.totalResults).toBe(0)
  const created = await c('POST', '/Users', body)
  expect(created.status).toBe(201)
  const id = String(created.json.id)
  expect((await c('GET', `/Users?filter=${q(`${by} eq "${key}"`)}`)).json).toMatchObject({ totalResults: 1, Resources: [{ id }] })

  let current = (await c('GET', `/Users/${id}`)).json
  const update = async (change: Record<string, unknown>): Promise<Res> => spec.updates === 'patch'
    ? c('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: change }] })
    : c('PUT', `/Users/${id}`, { ...current, ...change })
  for (const change of [...spec.changes, { active: false }, { active: true }]) {
    const r = await update(change)
    expect(r.status, JSON.stringify(r.json)).toBe(200)
    expect(r.json).toMatchObject(change)
    current = (await c('GET', `/Users/${id}`)).json
    expect(current).toMatchObject(change)
  }
  if (spec.deletes) {
    expect((await c('DELETE', `/Users/${id}`)).status).toBe(204)
    expect((await c('GET', `/Users/${id}`)).status).toBe(404)
  }
  return id
}

/** create (with or without members), rename, add members, remove members, delete. */
export async function groupLifecycle(c: Client, spec: { updates: 'patch' | 'put'; createWithMembers: boolean }): Promise<void> {
  const users: string[] = []
  for (const i of [0, 1, 2]) users.push(String((await c('POST', '/Users', { schemas: [USER], userName: `m${i}-${randomUUID()}@example.com`, active: true })).json.id))
  const name = `group ${randomUUID()}`
  const created = await c('POST', '/Groups', { schemas: [GROUP], displayName: name, members: spec.createWithMembers ? [{ value: users[0] }] : [] })
  expect(created.status).toBe(201)
  const gid = String(created.json.id)
  const members = async () => ((await c('GET', `/Groups/${gid}`)).json.members as { value: string }[] | undefined ?? []).map((m) => m.value).sort()
  const put = (displayName: string, ids: string[]) => c('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName, members: ids.map((value) => ({ value })) })

  if (spec.updates === 'patch') {
    expect((await c('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: `${name} 2` }] })).status).toBe(204)
    expect((await c('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: users.map((value) => ({ value })) }] })).status).toBe(204)
    expect(await members()).toEqual([...users].sort())
    expect((await c('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${users[0]}"]` }] })).status).toBe(204)
  } else {
    expect((await put(`${name} 2`, spec.createWithMembers ? [String(users[0])] : [])).status).toBe(200)
    expect((await put(`${name} 2`, users)).status).toBe(200)
    expect(await members()).toEqual([...users].sort())
    expect((await put(`${name} 2`, users.slice(1))).status).toBe(200)
  }
  expect(await members()).toEqual(users.slice(1).sort())
  expect((await c('GET', `/Groups/${gid}`)).json.displayName).toBe(`${name} 2`)
  expect((await c('DELETE', `/Groups/${gid}`)).status).toBe(204)
  expect((await c('GET', `/Groups/${gid}`)).status).toBe(404)
  for (const u of users) await c('DELETE', `/Users/${u}`)
}
