// Fresh organizations of a test app listening on a port, each with its SCIM calls over the socket
// and a reader of its event feed (an operator key with events:read, made once per app): a test
// whose feed must hold only what it did takes a new organization for it.
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { FeedReader } from './api-client.ts'
import type { TestApp } from './app.ts'
import { httpApiGet } from './feed-over-http.ts'
import { call, type Call } from './spawned-server.ts'
import { listening } from './typed-client.ts'

export interface HttpOrg {
  readonly orgId: OrgId
  readonly token: string
  send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Call>
  readonly feed: FeedReader
}

/** Makes `t` listen, and returns what makes a fresh organization named `<name>-<random>`, and the app's root URL. */
export async function httpOrgs(t: TestApp): Promise<{ root: string; fresh: (name: string) => Promise<HttpOrg> }> {
  const root = await listening(t)
  const feedKey = (await createApiKey(t.deps, { name: 'feed', orgId: null, scopes: ['events:read'], expiresAt: null })).key
  const fresh = async (name: string): Promise<HttpOrg> => {
    const o = await t.newOrg(`${name}-${Math.random().toString(36).slice(2)}`)
    return {
      ...o,
      send: (method, path, body, headers = {}) => call(`${root}/scim/v2`, method, path, o.token, body, headers),
      feed: new FeedReader(httpApiGet(root, feedKey), o.orgId),
    }
  }
  return { root, fresh }
}
