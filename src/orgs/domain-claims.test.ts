import { describe, expect, it } from 'vitest'
import type { DomainClaim, DomainState } from '../store/org-store.ts'
import type { OrgId } from '../store/store.ts'
import { claimRefusal, supersededDetail } from './domain-claims.ts'

const claim = (orgId: string, state: DomainState): DomainClaim => ({ orgId: orgId as OrgId, domain: 'acme.com', state })

describe('claimRefusal', () => {
  it('lets an organization add a domain nobody else claims, or that only it claims', () => {
    expect(claimRefusal('a', 'acme.com', [], false)).toBeNull()
    expect(claimRefusal('a', 'acme.com', [claim('a', 'verified')], false)).toBeNull()
  })

  it("refuses another organization's verified domain, shared domains or not, without naming it", () => {
    for (const shared of [false, true]) {
      const r = claimRefusal('a', 'acme.com', [claim('b', 'unverified'), claim('other-org-id', 'verified')], shared)
      expect(r?.reason).toBe('verified')
      expect(r?.message).toContain('acme.com is verified by another organization')
      expect(r?.message).not.toContain('other-org-id')
    }
  })

  it("refuses another organization's unverified, pending or failed claim unless shared domains are allowed", () => {
    for (const state of ['unverified', 'pending', 'failed'] as const) {
      const r = claimRefusal('a', 'acme.com', [claim('b', state)], false)
      expect(r?.reason).toBe('listed')
      expect(r?.message).toContain('Verify the domain by DNS to claim it')
      expect(r?.message).toContain('ROSTER_SHARED_DOMAINS=1')
      expect(claimRefusal('a', 'acme.com', [claim('b', state)], true)).toBeNull()
    }
  })

  it('ignores superseded claims', () => {
    expect(claimRefusal('a', 'acme.com', [claim('b', 'superseded')], false)).toBeNull()
  })
})

describe('supersededDetail', () => {
  it('says another organization verified the domain, and on which day', () => {
    expect(supersededDetail('acme.com', '2026-03-04T05:06:07.000Z')).toMatch(/^Another organization verified acme\.com by DNS on 2026-03-04;/)
  })
})
