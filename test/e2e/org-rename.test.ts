// Renaming an organization: the new name finds it, the old one no longer does, its token still
// works, the audit log records it, and a name in use (folded) or an empty one is refused.
import { afterEach, describe, expect, it } from 'vitest'
import { createOrg, findOrg, renameOrg } from '../../src/provisioning/orgs.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe.each(storeMatrix())('org rename ($name)', (base) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('renames, keeps the token working, records the audit entry; refuses a taken or empty name', async () => {
    t = await startApp(base)
    const org = await createOrg(t.deps, 'Old Name Inc', [])
    await createOrg(t.deps, 'Taken Corp', [])
    const r = await renameOrg(t.deps, 'old name inc', 'New Name Inc')
    expect(r).toEqual({ orgId: org.orgId, name: 'New Name Inc', previous: 'Old Name Inc' })
    expect((await findOrg(t.deps, 'new name inc')).id).toBe(org.orgId)
    await expect(findOrg(t.deps, 'Old Name Inc')).rejects.toMatchObject({ code: 'ROSTER_ERR_ORG_NOT_FOUND' })
    expect((await t.req('GET', '/Users', undefined, { token: org.token })).status).toBe(200)
    const audit = await t.store.listAudit(org.orgId, 10, null)
    expect(audit).toEqual([expect.objectContaining({ actor: 'cli', action: 'organization.renamed', details: { from: 'Old Name Inc', to: 'New Name Inc' } })])
    await expect(renameOrg(t.deps, 'New Name Inc', 'TAKEN corp')).rejects.toMatchObject({ code: 'ROSTER_ERR_ORG_EXISTS' })
    await expect(renameOrg(t.deps, 'New Name Inc', '  ')).rejects.toMatchObject({ code: 'ROSTER_ERR_ORG_NAME' })
    await expect(renameOrg(t.deps, 'Nobody Ltd', 'Anything')).rejects.toMatchObject({ code: 'ROSTER_ERR_ORG_NOT_FOUND' })
  })
})
