// The console's password dialog (console/src/reauth.tsx; docs/console.md "Re-authentication";
// OWASP ASVS 4.0.3 3.7.1) in Chromium against the real server on a SQLite file: a session whose
// password was proved longer ago than the window (the server's clock moved on) refreshes the SCIM
// token; the server's 403 reauthentication_required opens the dialog; cancelling it or typing a
// wrong password mints nothing (the store's tokens, the old token over SCIM), the right one
// confirms the session and the refresh is sent again: one token minted, shown once. The server
// side alone is test/e2e/console-reauth.test.ts.
import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_POLICY, secretHash } from '../../src/console/accounts.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { browserBase, DIST, launchChromium, missingBrowser, scim, signInAt } from './browser.ts'

const missing = missingBrowser()
if (missing) console.warn(`test/console/reauth-dialog: skipped: ${missing}`)

const EMAIL = 'admin@reauth.test'

describe.skipIf(missing !== null)('the console asks for the password before minting a token', () => {
  let t: TestApp
  let base = ''
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let org: { orgId: OrgId; token: string }
  /** How far the server's clock is ahead of the real one. */
  let ahead = 0
  const errors: string[] = []

  /** The browser's session as the store holds it (its cookie is HttpOnly: read from the browser's jar). */
  async function storedSession(): Promise<{ authenticatedAt: string }> {
    const cookie = (await context.cookies(base)).find((c) => /roster_session$/.test(c.name))
    if (!cookie) throw new Error('no session cookie')
    const found = await t.store.console.session(secretHash(cookie.value))
    if (!found) throw new Error('no session in the store')
    return found.session
  }

  async function tokenIds(): Promise<string[]> {
    return (await t.store.console.tokens(org.orgId)).map((x) => x.id)
  }

  async function auditActions(): Promise<string[]> {
    return (await t.store.listAudit(org.orgId, 50, null)).map((a) => `${a.actor} ${a.action}${typeof a.details.operation === 'string' ? ` ${a.details.operation}` : ''}`)
  }

  /** Refresh, through the page's confirmation, up to the password dialog. */
  async function refreshUntilAsked(): Promise<void> {
    await page.goto(`${base}/console/#/o/${org.orgId}/token`)
    await page.getByRole('heading', { level: 1, name: 'SCIM token' }).waitFor()
    await page.getByRole('button', { name: 'Refresh token' }).click()
    await page.getByRole('button', { name: 'Refresh now' }).click()
    await page.getByRole('dialog', { name: 'Confirm your password' }).waitFor()
  }

  beforeAll(async () => {
    const sqlite = storeMatrix()[0]
    if (!sqlite) throw new Error('no store')
    t = await startApp(sqlite, {}, { consoleDir: DIST, now: () => new Date(Date.now() + ahead) })
    base = browserBase(await listening(t))
    org = await t.newOrg(`Reauth ${randomUUID()}`)
    await consoleAccount(t, EMAIL, 'admin', org.orgId)
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    page = await context.newPage()
    page.setDefaultTimeout(5_000)
    page.on('console', (m) => {
      // The refused calls (403, 401) show as failed loads: the page handles those itself.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    await signInAt(page, base, EMAIL, PASSWORD)
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('cancelling the dialog mints nothing and says why', async () => {
    ahead = DEFAULT_POLICY.reauthMs + 60_000
    const before = await tokenIds()
    await refreshUntilAsked()
    await page.getByRole('dialog', { name: 'Confirm your password' }).getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('alert').filter({ hasText: 'Confirm your password to generate, refresh or rotate' }).waitFor()
    expect(await page.getByRole('dialog').count()).toBe(0)
    expect(await page.locator('#new-token').count()).toBe(0)
    expect(await tokenIds()).toEqual(before)
    expect((await scim(base, org.token, 'GET', '/Users')).status).toBe(200)
    expect((await auditActions()).filter((a) => a.includes('token.'))).toEqual([`console:${EMAIL} token.reauthentication_required refresh`])
  })

  it('a wrong password is refused in the dialog and mints nothing; the right one refreshes once and shows the token once', async () => {
    const signedIn = await storedSession()
    const before = await tokenIds()
    expect(before).toHaveLength(1)
    await refreshUntilAsked()
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' })

    await dialog.getByLabel('Your password').fill('not the password at all')
    await dialog.getByRole('button', { name: 'Confirm' }).click()
    await dialog.getByRole('alert').filter({ hasText: 'The password is wrong' }).waitFor()
    expect(await dialog.isVisible()).toBe(true)
    expect(await page.locator('#new-token').count()).toBe(0)
    expect(await tokenIds()).toEqual(before)
    expect((await storedSession()).authenticatedAt).toBe(signedIn.authenticatedAt)
    expect((await scim(base, org.token, 'GET', '/Users')).status).toBe(200)

    await dialog.getByLabel('Your password').fill(PASSWORD)
    await dialog.getByRole('button', { name: 'Confirm' }).click()
    await page.getByText('The token was refreshed: the old token stopped working.').waitFor()
    await dialog.waitFor({ state: 'hidden' })
    const token = String(await page.locator('#new-token').textContent())
    await page.getByText('it will not be shown again').waitFor()

    // One token minted, the one shown: the old one refused over SCIM, the new one accepted.
    const after = await t.store.console.tokens(org.orgId)
    expect(after).toHaveLength(1)
    expect(after[0]?.id).not.toBe(before[0])
    expect(after[0]?.lastFour).toBe(token.slice(-4))
    expect((await scim(base, org.token, 'GET', '/Users')).status).toBe(401)
    expect((await scim(base, token, 'GET', '/Users')).status).toBe(200)
    // The session's password is proved again by the server's clock, past the window since sign-in.
    expect(Date.parse((await storedSession()).authenticatedAt)).toBeGreaterThan(Date.parse(signedIn.authenticatedAt) + DEFAULT_POLICY.reauthMs)
    expect((await auditActions()).filter((a) => a.includes('token.'))).toEqual([
      `console:${EMAIL} token.refreshed`,
      `console:${EMAIL} token.reauthentication_required refresh`,
      `console:${EMAIL} token.reauthentication_required refresh`,
    ])

    // Shown once: the page read again holds only its last four characters.
    await page.reload()
    await page.getByRole('cell', { name: `…${token.slice(-4)}` }).waitFor()
    expect(await page.content()).not.toContain(token)
    expect(errors).toEqual([])
  })
})
