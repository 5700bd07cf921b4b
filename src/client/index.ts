// `roster/client`: a typed client of /api/v1 (docs/api.md). The types are generated from the
// OpenAPI document (src/client/api-types.ts, `npm run openapi`), and openapi-fetch makes each
// call from them: the path, its parameters, the body and every answer are checked by the
// compiler.
//
//   const roster = createRosterClient({ baseUrl: 'https://roster.example.com', apiKey })
//   const { data, error } = await roster.GET('/api/v1/orgs/{org}/users', { params: { path: { org: 'Acme Corp' }, query: { limit: 50 } } })
//   // data: UserPage | undefined; error: ApiError | undefined
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from './api-types.ts'

export type { components, operations, paths } from './api-types.ts'

export interface RosterClientOptions {
  /** The server, e.g. https://roster.example.com (ROSTER_PUBLIC_URL): the paths start with /api/v1. */
  readonly baseUrl: string
  /** An API key (roster api-key create), sent as `Authorization: Bearer …` with every request. */
  readonly apiKey: string
  /** The fetch to use (the global one when absent). */
  readonly fetch?: typeof globalThis.fetch
  /** More headers for every request (a User-Agent…). */
  readonly headers?: Readonly<Record<string, string>>
}

export type RosterClient = Client<paths>

export function createRosterClient(opts: RosterClientOptions): RosterClient {
  return createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    headers: { ...opts.headers, authorization: `Bearer ${opts.apiKey}` },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  })
}

type Schemas = components['schemas']

export type ApiError = Schemas['ApiError']
export type ApiUser = Schemas['ApiUser']
export type ApiGroup = Schemas['ApiGroup']
export type ApiMember = Schemas['ApiMember']
export type UserPage = Schemas['UserPage']
export type GroupPage = Schemas['GroupPage']
export type MemberPage = Schemas['MemberPage']
export type EventType = Schemas['EventType']
export type Event = Schemas['Event']
export type EventPage = Schemas['EventPage']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
export type WebhookEndpointCreated = Schemas['WebhookEndpointCreated']
export type WebhookAttempt = Schemas['WebhookAttempt']
export type LogItem = Schemas['LogItem']
export type LogPage = Schemas['LogPage']
export type ApiInvitation = Schemas['ApiInvitation']
