// Hostile strings from an identity provider, shown by the console (OWASP API Security Top 10 2023
// API10 "Unsafe Consumption of APIs"; OWASP ASVS 4.0.3 V5.3.3, output encoding for HTML): users
// and groups provisioned over SCIM with markup and script URLs in every attribute the console
// shows, failed SCIM requests whose error detail echoes them, and an organization renamed to them
// (the audit log's details). Every page that shows them is opened in Chromium, and on each: no
// injected script ran, the Content-Security-Policy refused nothing (an injected inline script or
// event handler is blocked by it, so a quiet `window.__xss` alone would not prove the text was
// escaped: the refusal's securitypolicyviolation event is counted too), no dialog opened, no
// element or attribute the app does not make is in the page, and the text is shown as typed.
import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renameOrg } from '../../src/provisioning/orgs.ts'
import type { OrgId } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { browserBase, DIST, launchChromium, missingBrowser, scim, signInAt } from './browser.ts'

const missing = missingBrowser()
if (missing) console.warn(`test/console/hostile-strings: skipped: ${missing}`)

/** Each would run `window.__xss` if the console put it into the page as markup or as a URL. */
const HOSTILE = [
  '<script>window.__xss=(window.__xss||0)+1</script>',
  '"><img src=x onerror="window.__xss=(window.__xss||0)+1">',
  'javascript:window.__xss=1',
] as const

/** How a string reads inside JSON text (the audit log shows its details as JSON). */
const inJson = (s: string): string => JSON.stringify(s).slice(1, -1)

interface Seen {
  readonly xss: unknown
  readonly violations: number
  readonly text: string
  /** Elements the console never makes (its only script is the module the page loads). */
  readonly foreign: string[]
  /** Attributes no React page sets: event handlers, and script URLs anywhere. */
  readonly handlers: string[]
}

const SEEN = `(() => {
  const all = [...document.querySelectorAll('*')]
  return {
    xss: window.__xss,
    violations: window.__cspViolations,
    text: document.body.innerText,
    foreign: [...document.querySelectorAll('img, iframe, object, embed, svg, math, script:not([src]), base, meta[http-equiv], body link, body style')].map((e) => e.outerHTML.slice(0, 80)),
    handlers: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)).map((a) => e.tagName + ' ' + a.name + '=' + a.value.slice(0, 40))),
  }
})()`

describe.skipIf(missing !== null)('hostile identity-provider strings in the console', () => {
  let t: TestApp
  let base = ''
  let browser: Browser
  let page: Page
  let org: { orgId: OrgId; token: string }
  let dialogs = 0
  const errors: string[] = []
  /** Requests the page made for anything but the console's files and its API (an injected image's, say). */
  const strayRequests: string[] = []
  const users: { id: string; hostile: string }[] = []
  const groups: { id: string; hostile: string }[] = []

  /**
   * The page is inert and shows each of `shown` as typed. The console changes pages by the URL's
   * fragment in one document, so the counts are those since sign-in: every page before passed too.
   */
  async function inert(where: string, shown: readonly string[]): Promise<void> {
    const seen = await page.evaluate(SEEN) as Seen
    expect(seen.xss, `window.__xss on ${where}`).toBeUndefined()
    expect(seen.violations, `securitypolicyviolation events on ${where}`).toBe(0)
    expect(seen.foreign, `injected elements on ${where}`).toEqual([])
    expect(seen.handlers, `injected attributes on ${where}`).toEqual([])
    expect(dialogs, `dialogs opened by ${where}`).toBe(0)
    for (const s of shown) expect(seen.text, `${where} shows ${s} as typed`).toContain(s)
  }

  async function open(hash: string, heading: string): Promise<void> {
    await page.goto(`${base}/console/#${hash}`)
    await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor()
  }

  beforeAll(async () => {
    const sqlite = storeMatrix()[0]
    if (!sqlite) throw new Error('no store')
    t = await startApp(sqlite, {}, { consoleDir: DIST })
    base = browserBase(await listening(t))
    org = await t.newOrg(`Hostile ${randomUUID()}`)
    await consoleAccount(t, 'admin@hostile.test', 'admin', org.orgId)

    // Every attribute the console shows carries one string; the provider's answers are 201.
    for (const hostile of HOSTILE) {
      const created = await scim(base, org.token, 'POST', '/Users', user(hostile, {
        displayName: hostile, title: hostile, externalId: hostile, name: { givenName: hostile, familyName: hostile },
      }))
      expect(created.status).toBe(201)
      const { id } = await created.json() as { id: string }
      users.push({ id, hostile })
      const group = await scim(base, org.token, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: hostile, members: [{ value: id }] })
      expect(group.status).toBe(201)
      groups.push({ id: (await group.json() as { id: string }).id, hostile })
      // A PATCH whose op is the string: 400, and its detail quotes the string whole (as a JSON string).
      const refused = await scim(base, org.token, 'PATCH', `/Users/${id}`, patchOp({ op: hostile, path: 'title', value: 'x' }))
      expect(refused.status).toBe(400)
      expect((await refused.json() as { detail: string }).detail).toContain(inJson(hostile))
      // The organization's name, set as `roster org rename` sets it: each rename is an audit entry.
      await renameOrg(t.deps, org.orgId, hostile)
    }
    await t.app.provisioningLog.flush()

    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    await context.addInitScript(`window.__cspViolations = 0
      document.addEventListener('securitypolicyviolation', () => { window.__cspViolations += 1 })`)
    page = await context.newPage()
    page.setDefaultTimeout(5_000)
    page.on('dialog', (d) => {
      dialogs += 1
      void d.dismiss()
    })
    page.on('console', (m) => {
      // A refused API call (the session read before signing in, a user without an invitation) shows as a failed load.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
    })
    page.on('request', (r) => {
      const path = r.url().startsWith(base) ? r.url().slice(base.length) : r.url()
      if (!/^\/console\/(assets\/[\w.-]+)?$|^\/api\/v1\//.test(path)) strayRequests.push(r.url())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    await signInAt(page, base, 'admin@hostile.test', PASSWORD)
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('the users list shows each userName and displayName as text', async () => {
    await open(`/o/${org.orgId}/users`, 'Users')
    await expect.poll(() => page.locator('tbody tr').count()).toBe(HOSTILE.length)
    await inert('the users list', HOSTILE)
    // Each userName is a link's text; the link goes to the user's page by id, whatever the name.
    for (const u of users) {
      expect(await page.getByRole('link', { name: u.hostile, exact: true }).getAttribute('href')).toBe(`#/o/${org.orgId}/users/${u.id}`)
    }
  })

  it('each user\'s page shows its attributes and its group as text', async () => {
    for (const u of users) {
      await open(`/o/${org.orgId}/users/${u.id}`, u.hostile)
      await page.getByRole('link', { name: u.hostile, exact: true }).waitFor()
      await inert(`the page of the user ${u.hostile}`, [u.hostile])
      // userName, externalId, displayName, title and the email made of the userName (the heading and the group's link besides).
      expect(await page.locator('dd').filter({ hasText: u.hostile }).count(), u.hostile).toBe(5)
    }
  })

  it('the groups list and each group\'s page show the names as text', async () => {
    await open(`/o/${org.orgId}/groups`, 'Groups')
    await expect.poll(() => page.locator('tbody tr').count()).toBe(HOSTILE.length)
    await inert('the groups list', HOSTILE)
    for (const g of groups) {
      await open(`/o/${org.orgId}/groups/${g.id}`, g.hostile)
      await page.getByText('1 members').waitFor()
      // The member is listed by its displayName, the same string.
      await page.getByRole('listitem').getByRole('link', { name: g.hostile, exact: true }).waitFor()
      await inert(`the page of the group ${g.hostile}`, [g.hostile])
    }
  })

  it('the provisioning log shows the refused requests\' details and the created users\' changes as text', async () => {
    await open(`/o/${org.orgId}/log`, 'Provisioning log')
    await page.getByLabel('Outcome').selectOption('4xx')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    const refused = page.getByRole('button', { name: /^400 PATCH \/scim\/v2\/Users\// })
    await expect.poll(() => refused.count()).toBe(HOSTILE.length)
    await inert('the provisioning log', [])
    for (let i = 0; i < HOSTILE.length; i++) {
      await refused.nth(i).click()
      const detail = page.locator('.log-detail')
      await detail.waitFor()
      const id = String(await refused.nth(i).textContent()).match(/Users\/([\w-]+)/)?.[1]
      const hostile = users.find((u) => u.id === id)?.hostile
      if (!hostile) throw new Error(`no user for the entry of ${id}`)
      expect(await detail.locator('pre').nth(1).textContent()).toContain(inJson(hostile))
      await inert(`the refused PATCH of ${hostile}`, [inJson(hostile)])
    }
    await page.getByLabel('Outcome').selectOption('2xx')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    const created = page.getByRole('button', { name: /^201 POST \/scim\/v2\/Users/ })
    await expect.poll(() => created.count()).toBe(HOSTILE.length)
    for (let i = 0; i < HOSTILE.length; i++) {
      await created.nth(i).click()
      const change = page.locator('.log-detail pre').nth(2)
      await change.waitFor()
      const text = String(await change.textContent())
      const hostile = HOSTILE.find((s) => text.includes(inJson(s)))
      if (!hostile) throw new Error(`no hostile string in the change: ${text}`)
      await inert(`the creation of ${hostile}`, [inJson(hostile)])
    }
  })

  it('the audit log shows the organization\'s names as text, in its JSON details', async () => {
    await open(`/o/${org.orgId}/audit`, 'Audit log')
    await expect.poll(() => page.getByRole('cell', { name: 'organization.renamed', exact: true }).count()).toBe(HOSTILE.length)
    await inert('the audit log', HOSTILE.map(inJson))
    expect(errors).toEqual([])
    expect(strayRequests).toEqual([])
  })
})
