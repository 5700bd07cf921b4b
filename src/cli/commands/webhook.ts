// `roster webhook add|list|remove|test|replay|rotate|redeliver ORG ...` and `roster worker` (webhooks and invitation emails).
import type { Config } from '../../config.ts'
import { WebhookDispatcher } from '../../events/dispatcher.ts'
import { Mailer, mailerSettings } from '../../mail/mailer.ts'
import {
  addWebhook, listWebhooks, publicEndpoint, redeliverEvent, removeWebhook, replayWebhook, rotateWebhookSecret, testWebhook,
} from '../../events/webhooks.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { findOrg } from '../../provisioning/orgs.ts'

export interface WebhookArgs {
  readonly sub: string | undefined
  readonly org: string | undefined
  readonly rest: readonly string[]
  readonly types: string | undefined
  readonly description: string | undefined
  readonly after: string | undefined
}

export type Print = (value: unknown, text: string) => void

export class WebhookUsage extends Error {}

const USAGE = 'usage: roster webhook add ORG URL [--types T,T] [--description D] | list ORG | remove ORG ID | test ORG ID | rotate ORG ID | redeliver ORG ID EVENT_ID | replay ORG ID [--after CURSOR]'

export async function webhookCommand(deps: Deps, config: Config, a: WebhookArgs, print: Print): Promise<number> {
  if (!a.org) throw new WebhookUsage(USAGE)
  const org = await findOrg(deps, a.org)
  const policy = { allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs }
  const [first, second] = a.rest
  switch (a.sub) {
    case 'add': {
      if (!first) throw new WebhookUsage(USAGE)
      const { endpoint, secret } = await addWebhook(deps, org.id, { url: first, eventTypes: a.types, description: a.description }, policy)
      print({ ...publicEndpoint(endpoint), secret }, `Webhook: ${endpoint.id}\nURL:     ${endpoint.url}\nTypes:   ${endpoint.eventTypes.join(', ') || 'all'}\nSecret:  ${secret}\n\nThe secret is shown only now. Verify each delivery's webhook-signature with it (docs/events.md).`)
      return 0
    }
    case 'list': {
      const list = (await listWebhooks(deps, org.id)).map(publicEndpoint)
      print(list, list.map((e) => `${e.id}  ${e.enabled ? 'enabled ' : 'DISABLED'}  ${e.url}  [${e.eventTypes.join(' ') || 'all'}]${e.disabledReason ? `  (${e.disabledReason})` : e.failingSince ? `  failing since ${e.failingSince}` : ''}`).join('\n') || 'No webhooks.')
      return 0
    }
    case 'remove':
      if (!first) throw new WebhookUsage(USAGE)
      await removeWebhook(deps, org.id, first)
      print({ removed: first }, `Removed webhook ${first}.`)
      return 0
    case 'test': {
      if (!first) throw new WebhookUsage(USAGE)
      const r = await testWebhook(deps, org.id, first, policy)
      const ok = r.status !== null && r.status >= 200 && r.status < 300
      print({ eventId: r.eventId, status: r.status, durationMs: Math.round(r.durationMs), excerpt: r.excerpt, error: r.error ?? null },
        ok ? `Delivered: HTTP ${r.status} in ${Math.round(r.durationMs)} ms.` : `Not delivered: ${r.status === null ? r.error ?? 'no answer' : `HTTP ${r.status}`} ${r.excerpt}`.trim())
      return ok ? 0 : 1
    }
    case 'rotate': {
      if (!first) throw new WebhookUsage(USAGE)
      const r = await rotateWebhookSecret(deps, org.id, first)
      print(r, `New secret: ${r.secret}\nThe previous secret keeps signing beside it until ${r.previousValidUntil}.`)
      return 0
    }
    case 'redeliver':
      if (!first || !second) throw new WebhookUsage(USAGE)
      await redeliverEvent(deps, org.id, first, second)
      print({ queued: 1 }, `Event ${second} queued for webhook ${first}.`)
      return 0
    case 'replay': {
      if (!first) throw new WebhookUsage(USAGE)
      const n = await replayWebhook(deps, org.id, first, a.after)
      print({ queued: n }, `${n} events queued for webhook ${first}; a running server or worker delivers them.`)
      return 0
    }
    default:
      throw new WebhookUsage(USAGE)
  }
}

/** `roster worker`: delivers webhooks until SIGTERM or SIGINT (servers then run with ROSTER_NO_WEBHOOK_WORKER=1, or beside it). */
export async function runWorker(deps: Deps, config: Config, log: (msg: string) => void): Promise<void> {
  const dispatcher = new WebhookDispatcher({
    store: deps.store, newId: deps.newId, now: deps.now, allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs,
    onError: (err) => log(`webhooks: delivery pass failed; retrying (${err instanceof Error ? err.message : String(err)})`),
  })
  dispatcher.start()
  // Invitation emails too (mail/mailer.ts), for servers started with ROSTER_NO_MAIL_WORKER=1.
  const settings = mailerSettings(config)
  const mailer = new Mailer({
    store: deps.store, newId: deps.newId, now: deps.now, ...settings,
    ...(settings.writesFiles ? { onSent: (s: { invitationId: string; where: string }) => log(`invitations: ${s.invitationId} written to ${s.where}`) } : {}),
    onError: (err) => log(`invitations: mailer pass failed; retrying (${err instanceof Error ? err.message : String(err)})`),
  })
  mailer.start()
  log(`Roster worker ${dispatcher.owner} delivering webhooks and sending invitations (${config.database.kind}); stop with Ctrl-C or SIGTERM.`)
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve())
  })
  await dispatcher.stop()
  await mailer.stop()
}
