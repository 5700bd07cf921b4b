import { describe, expect, it } from 'vitest'
import { durabilityPlan, NotDurable } from './postgres-durability.ts'

describe('durabilityPlan', () => {
  it('keeps every synchronous_commit that flushes the WAL locally before COMMIT returns', () => {
    for (const synchronousCommit of ['local', 'on', 'remote_write', 'remote_apply']) {
      expect(durabilityPlan({ fsync: 'on', synchronousCommit }, false)).toEqual({ forceSynchronousCommit: false, warning: null })
    }
  })

  it('raises synchronous_commit=off to on for its own sessions rather than refusing', () => {
    expect(durabilityPlan({ fsync: 'on', synchronousCommit: 'off' }, false)).toEqual({ forceSynchronousCommit: true, warning: null })
  })

  it('refuses fsync=off, naming the setting and the way out', () => {
    expect(() => durabilityPlan({ fsync: 'off', synchronousCommit: 'on' }, false)).toThrow(NotDurable)
    expect(() => durabilityPlan({ fsync: 'off', synchronousCommit: 'on' }, false)).toThrow(/fsync=off.*ROSTER_POSTGRES_ALLOW_FSYNC_OFF=1/)
  })

  it('starts on fsync=off only when allowed, with a warning, and still raises synchronous_commit', () => {
    const plan = durabilityPlan({ fsync: 'off', synchronousCommit: 'off' }, true)
    expect(plan.forceSynchronousCommit).toBe(true)
    expect(plan.warning).toMatch(/fsync=off.*may be lost/)
  })
})
