// The sweep of users kept after their DELETE under `deprovision: suspend` (docs/policies.md):
// once `deleteAfterDays` are over, each is removed and `user.deleted` says so. Idempotent: a
// user removed by another server's sweep (or an earlier, interrupted pass) is skipped, and its
// event is written once, in the transaction that removes it.
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { ApiUser } from '../directory/shape.ts'
import { deletedUserEvent } from '../events/build.ts'
import { NO_MAPPING } from '../orgs/settings.ts'
import { OrgGone } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { eventContext } from './users.ts'

export async function purgeDeletedUsers(deps: Pick<Deps, 'store' | 'now' | 'newId'>, batch = 200): Promise<number> {
  let total = 0
  for (;;) {
    const now = deps.now().toISOString()
    const due = await deps.store.duePurges(now, batch)
    for (const kept of due) {
      const removed = await deps.store.write(async (tx) => {
        // The organization held first (PostgreSQL: KEY SHARE): its deletion in flight commits
        // before, and its users go with it. Without this a purge could commit its user.deleted
        // event after the deletion had removed the organization's events: an event left behind.
        try {
          await tx.orgs.holdShared(kept.orgId)
        } catch (e) {
          if (e instanceof OrgGone) return false
          throw e
        }
        if (!(await tx.purgeDeletedUser(kept.orgId, kept.id))) return false
        const shape = { ...(kept.data as unknown as ApiUser), version: Number(kept.data.version) + 1, updatedAt: now }
        await tx.insertEvents(kept.orgId, [deletedUserEvent(eventContext(deps as Deps, kept.orgId, now, NO_MAPPING), 'user.deleted', shape)])
        return true
      })
      if (removed) total++
    }
    if (due.length < batch) return total
    await yieldToLoop()
  }
}
