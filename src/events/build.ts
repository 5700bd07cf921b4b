// The events a change writes to the outbox (docs/events.md). Each is serialized once, here,
// into the exact text the feed serves and webhooks sign and send: Standard Webhooks' payload
// `{"id","type","timestamp","data"}`, where `data` is the resource in the directory API's shape
// plus `orgId`. A consumer can upsert from one event and drop a stale one by its `version`.
// A group's events never carry its member list; a membership event carries the group and the
// one member, and a 5,000-member change is 5,000 of them, stored as one row (events/rows.ts).
import { isDeepStrictEqual } from 'node:util'
import { apiGroup, apiUser, type ApiUser } from '../directory/shape.ts'
import type { AttributeMapping } from '../orgs/settings.ts'
import { changeParts, type Change } from '../provisioning/log-change.ts'
import type { GroupRow, MemberDeltaResult, MemberKey, NewEvent, OrgId, UserRow } from '../store/store.ts'

export type EventType =
  | 'user.created' | 'user.updated' | 'user.deactivated' | 'user.reactivated' | 'user.deleted'
  | 'user.invited' | 'user.invitation_accepted' | 'user.invitation_expired' | 'user.adopted'
  | 'group.created' | 'group.updated' | 'group.deleted' | 'group.member_added' | 'group.member_removed'
  | 'token.refreshed' | 'organization.updated' | 'webhook.endpoint_disabled'

export const EVENT_TYPES: readonly EventType[] = [
  'user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted',
  'user.invited', 'user.invitation_accepted', 'user.invitation_expired', 'user.adopted',
  'group.created', 'group.updated', 'group.deleted', 'group.member_added', 'group.member_removed',
  'token.refreshed', 'organization.updated', 'webhook.endpoint_disabled',
]

export function isEventType(t: string): t is EventType {
  return (EVENT_TYPES as readonly string[]).includes(t)
}

/** What every event of one change shares: its organization, instant and id source. */
export interface EventContext {
  readonly orgId: OrgId
  /** ISO 8601: the change's own time (the resource's updatedAt). */
  readonly at: string
  readonly newId: () => string
  /** The organization's attribute mapping, for the users' `fields` (orgs/settings.ts). */
  readonly mapping: AttributeMapping
}

/** `data` minus its closing brace, so that per-event fields can be appended to a shared prefix. */
function openData(ctx: EventContext, shape: object): string {
  // Appended as text: stringifying a copy spread with orgId cost twice the stringify itself.
  return `${JSON.stringify(shape).slice(0, -1)},"orgId":${JSON.stringify(ctx.orgId)}`
}

function event(ctx: EventContext, type: EventType, resourceType: string, resourceId: string, version: number, dataText: string): NewEvent {
  const id = ctx.newId()
  return {
    id,
    type,
    resourceType,
    resourceId,
    lane: resourceId,
    version,
    at: ctx.at,
    payload: `{"id":${JSON.stringify(id)},"type":"${type}","timestamp":"${ctx.at}","data":${dataText}}`,
    members: null,
  }
}

/** One row of membership events: one event per member, sharing the group's open `data` text. */
function membership(ctx: EventContext, type: 'group.member_added' | 'group.member_removed', group: GroupRow, members: readonly MemberKey[]): NewEvent {
  return {
    id: ctx.newId(), type, resourceType: 'Group', resourceId: group.id, lane: group.id, version: group.version, at: ctx.at,
    payload: openData(ctx, apiGroup(group)), members,
  }
}

/**
 * The changed attributes of an update with their values before and after, redacted and bounded
 * exactly as the provisioning log records them (the same parts, provisioning/log-change.ts), plus
 * `customAttributes` when they changed (a PUT replaces them: they are not in the SCIM body the
 * record compares, but they are in the shape consumers mirror); null if nothing changed.
 */
function changesOf(change: Change, extras: Readonly<Record<string, { readonly before: unknown; readonly after: unknown }>> = {}): string | null {
  const p = changeParts(change)
  const moved = Object.entries(extras).filter(([, v]) => !isDeepStrictEqual(v.before, v.after))
  if (p.names.length === 0 && moved.length === 0) return null
  if (moved.length === 0) return `{"attributes":${JSON.stringify(p.names)},"before":{${p.before}},"after":{${p.after}}}`
  const more = (text: string, side: 'before' | 'after') => [text, ...moved.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v[side])}`)].filter((t) => t !== '').join(',')
  return `{"attributes":${JSON.stringify([...p.names, ...moved.map(([k]) => k)])},"before":{${more(p.before, 'before')}},"after":{${more(p.after, 'after')}}}`
}

function withChanges(prefix: string, changes: string | null): string {
  return changes === null ? `${prefix}}` : `${prefix},"changes":${changes}}`
}

export function userCreated(ctx: EventContext, row: UserRow): NewEvent {
  return event(ctx, 'user.created', 'User', row.id, row.version, `${openData(ctx, apiUser(row, ctx.mapping))}}`)
}

/**
 * A user's update: `user.updated` with what changed (nothing when nothing did), then `user.deactivated` or
 * `user.reactivated` when `active` moved (an application ends the user's sessions on the first).
 */
export function userUpdated(ctx: EventContext, before: UserRow, after: UserRow, change: Change): NewEvent[] {
  // A PUT that repeats the stored user changes nothing an application could see.
  const changes = changesOf(change, {
    customAttributes: { before: before.directory?.customAttributes ?? {}, after: after.directory?.customAttributes ?? {} },
    metadata: { before: before.directory?.metadata ?? {}, after: after.directory?.metadata ?? {} },
  })
  if (changes === null) return []
  const prefix = openData(ctx, apiUser(after, ctx.mapping))
  const out = [event(ctx, 'user.updated', 'User', after.id, after.version, withChanges(prefix, changes))]
  const was = before.body.active !== false
  const is = after.body.active !== false
  if (was && !is) out.push(event(ctx, 'user.deactivated', 'User', after.id, after.version, `${prefix}}`))
  if (!was && is) out.push(event(ctx, 'user.reactivated', 'User', after.id, after.version, `${prefix}}`))
  return out
}

/**
 * An event about the user as it is now, with what else the event says (`extra`: an invitation's
 * id and expiry, who adopted the user) beside the user's fields.
 */
export function userEvent(ctx: EventContext, type: EventType, row: UserRow, extra: Record<string, unknown> = {}): NewEvent {
  const more = Object.keys(extra).length === 0 ? '' : `,${JSON.stringify(extra).slice(1, -1)}`
  return event(ctx, type, 'User', row.id, row.version, `${openData(ctx, apiUser(row, ctx.mapping))}${more}}`)
}

/** A user kept after its DELETE (deprovision: suspend), in the shape the directory API shows it. */
export function deletedUserEvent(ctx: EventContext, type: 'user.deactivated' | 'user.deleted', shape: ApiUser): NewEvent {
  return event(ctx, type, 'User', shape.id, shape.version, `${openData(ctx, shape)}}`)
}

/** The user as it was before the delete. */
export function userDeleted(ctx: EventContext, before: UserRow): NewEvent {
  return event(ctx, 'user.deleted', 'User', before.id, before.version, `${openData(ctx, apiUser(before, ctx.mapping))}}`)
}

export function groupCreated(ctx: EventContext, row: GroupRow): NewEvent {
  return event(ctx, 'group.created', 'Group', row.id, row.version, `${openData(ctx, apiGroup(row))}}`)
}

/** A group's own attributes changed (its members are memberEvents'); nothing when nothing did. */
export function groupUpdated(ctx: EventContext, after: GroupRow, change: Change): NewEvent[] {
  const changes = changesOf(change)
  return changes === null ? [] : [event(ctx, 'group.updated', 'Group', after.id, after.version, withChanges(openData(ctx, apiGroup(after)), changes))]
}

export function groupDeleted(ctx: EventContext, before: GroupRow): NewEvent {
  return event(ctx, 'group.deleted', 'Group', before.id, before.version, `${openData(ctx, apiGroup(before))}}`)
}

/** One `group.member_removed` per removed row and one `group.member_added` per added row (two rows at most). */
export function memberEvents(ctx: EventContext, group: GroupRow, result: MemberDeltaResult): NewEvent[] {
  const out: NewEvent[] = []
  if (result.removed.length > 0) out.push(membership(ctx, 'group.member_removed', group, result.removed))
  if (result.added.length > 0) out.push(membership(ctx, 'group.member_added', group, result.added))
  return out
}

/** A member removed from `group` because the member itself was deleted. */
export function memberRemovedByDelete(ctx: EventContext, group: GroupRow, memberId: string, memberType: 'User' | 'Group'): NewEvent {
  return membership(ctx, 'group.member_removed', group, [{ id: memberId, type: memberType }])
}

/** An organization's settings or domains changed: the settings after (at `version`), and which changed. */
export function organizationUpdated(ctx: EventContext, version: number, data: Record<string, unknown>): NewEvent {
  return event(ctx, 'organization.updated', 'Organization', ctx.orgId, version, JSON.stringify({ ...data, orgId: ctx.orgId }))
}

/** A new SCIM token: a resource of its own, created once and never changed, so always at version 1. */
export function tokenRefreshed(ctx: EventContext, token: { id: string; prefix: string }): NewEvent {
  const data = JSON.stringify({ id: token.id, prefix: token.prefix, createdAt: ctx.at, version: 1, orgId: ctx.orgId })
  return event(ctx, 'token.refreshed', 'Token', token.id, 1, data)
}

/**
 * A webhook endpoint the delivery loop disabled (a 410 Gone, or five days of failures;
 * docs/architecture.md EVT-8): a notice for the organization's other endpoints and its feed, in
 * the disabling's transaction. Its lane is the endpoint, and the fan-out never gives it to that
 * endpoint (store/kysely/webhook-store.ts). The URL is shown as a reader without
 * webhooks:manage sees it (its query values redacted): the feed is open to events:read.
 */
export function endpointDisabled(ctx: EventContext, endpoint: { id: string; url: string; reason: string; failingSince: string | null }): NewEvent {
  const data = JSON.stringify({ id: endpoint.id, url: endpoint.url, reason: endpoint.reason, failingSince: endpoint.failingSince, disabledAt: ctx.at, orgId: ctx.orgId })
  return event(ctx, 'webhook.endpoint_disabled', 'WebhookEndpoint', endpoint.id, 1, data)
}
