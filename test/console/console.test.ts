// The admin console in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core against the real server on a SQLite file, serving the built console
// (console/dist, made by `npm install`). Without the browser (or without the build) every test
// is reported as skipped, with the reason, never passed. Each page is checked with axe-core
// (WCAG 2.1 A and AA rules) and photographed into docs/screenshots/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { PASSWORD, consoleAccount, signIn as sessionOf } from '../helpers/console.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const CHROMIUM = process.env.ROSTER_CHROMIUM ?? '/usr/bin/chromium'
const DIST = join(ROOT, 'console/dist')
// The pages are photographed on every run; into docs/screenshots/ only when asked
// (ROSTER_SCREENSHOTS=1), so that a test run leaves the repository as it found it.
const SHOTS = process.env.ROSTER_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : mkdtempSync(join(tmpdir(), 'roster-screenshots-'))
const missing = !existsSync(CHROMIUM) ? `no browser at ${CHROMIUM} (install Debian's chromium package)` : !existsSync(join(DIST, 'index.html')) ? 'the console is not built (npm run build:console)' : null
if (missing) console.warn(`test/console: skipped: ${missing}`)

const AXE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8')
const OKTA = 'Okta SCIM Client 1.0.0'
const ENTRA = 'Microsoft Azure AD SCIM provisioning 1.0.0'
const SCIM_JSON = 'application/scim+json'

describe.skipIf(missing !== null)('the admin console in Chromium', () => {
  let t: TestApp
  let base = ''
  let browser: Browser
  let page: Page
  let token = ''
  /** The organization the pages show (a readable name for the screenshots). */
  let acme: { orgId: OrgId; token: string }
  const errors: string[] = []

  let rx: Receiver

  async function scim(method: string, path: string, bearer: string, body?: unknown, userAgent = OKTA): Promise<Response> {
    return fetch(`${base}/scim/v2${path}`, {
      method, headers: { authorization: `Bearer ${bearer}`, 'user-agent': userAgent, ...(body ? { 'content-type': SCIM_JSON } : {}) }, body: body ? JSON.stringify(body) : undefined,
    })
  }

  /** No axe-core violation of WCAG 2.1 A/AA on the page as it is now. */
  async function accessible(p: Page, name: string): Promise<void> {
    if (!(await p.evaluate('typeof window.axe !== "undefined"'))) await p.evaluate(AXE)
    const result = await p.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
      .then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`) as string[]
    expect(result, `axe-core violations on ${name}`).toEqual([])
  }

  async function shot(p: Page, name: string): Promise<void> {
    await accessible(p, name)
    await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  }

  async function open(p: Page, hash: string, heading: string | RegExp): Promise<void> {
    await p.goto(`${base}/console/#${hash}`)
    await p.getByRole('heading', { level: 1, name: heading }).waitFor()
  }

  async function newContext(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    const p = await context.newPage()
    p.on('console', (m) => {
      // A refused API call shows as "Failed to load resource": the page handles those itself.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
    })
    p.on('pageerror', (e) => errors.push(e.message))
    return { context, page: p }
  }

  async function signIn(p: Page, email: string, password = PASSWORD): Promise<void> {
    await p.goto(`${base}/console/`)
    await p.getByLabel('Email').fill(email)
    await p.getByLabel('Password').fill(password)
    await p.getByRole('button', { name: 'Sign in' }).click()
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    const sqlite = storeMatrix()[0]
    if (!sqlite) throw new Error('no store')
    rx = await startReceiver()
    // The webhook dispatcher runs, so that the Webhooks page has deliveries (failed ones: rx answers 500).
    rx.answer = () => ({ status: 500 })
    t = await startApp(sqlite, {}, { consoleDir: DIST, webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    base = (await listening(t)).replace('127.0.0.1', 'localhost')
    acme = await t.newOrg('Acme Corp')
    await consoleAccount(t, 'admin@acme.test', 'admin', acme.orgId)
    await consoleAccount(t, 'viewer@acme.test', 'viewer', acme.orgId)
    await consoleAccount(t, 'lock@acme.test', 'viewer', acme.orgId)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] })
    ;({ page } = await newContext())
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await rx?.stop()
  })

  it('signs in and shows the SCIM setup guide with the tenant URL and the waiting status', async () => {
    await page.goto(`${base}/console/`)
    await page.getByRole('heading', { name: 'Sign in to the Roster console' }).waitFor()
    await shot(page, 'sign-in')
    await signIn(page, 'admin@acme.test')
    await page.getByRole('heading', { level: 1, name: 'Set up SCIM provisioning' }).waitFor()
    await page.getByLabel('Your identity provider').selectOption('okta')
    expect(await page.getByLabel('SCIM connector base URL', { exact: true }).inputValue()).toBe('https://roster.test/scim/v2')
    expect(await page.getByLabel('Unique identifier for users', { exact: true }).inputValue()).toBe('userName')
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Waiting' }).count()).toBe(1)
    await shot(page, 'setup')
  })

  it('adds a domain: a bad one is refused inline, a good one is listed unverified', async () => {
    await open(page, `/o/${acme.orgId}/settings`, 'Settings')
    await page.getByLabel('Add a domain').fill('not a domain')
    await page.getByRole('button', { name: 'Add domain' }).click()
    await page.locator('#domain-error').waitFor()
    expect(await page.locator('#domain-error').textContent()).toMatch(/domain/i)
    await page.getByLabel('Add a domain').fill('acme.test')
    await page.getByRole('button', { name: 'Add domain' }).click()
    await page.getByRole('cell', { name: 'acme.test', exact: true }).waitFor()
    expect(await page.getByRole('row', { name: /acme\.test/ }).textContent()).toContain('unverified')
    expect(await page.locator('#domain-error').count()).toBe(0)
    await shot(page, 'settings')
  })

  it('generates the token, copies it, and the copy works for a real SCIM request; the first request turns the status green', async () => {
    await open(page, `/o/${acme.orgId}/token`, 'SCIM token')
    // The test organization's token is from before: refresh it behind the confirmation.
    await page.getByRole('button', { name: 'Refresh token' }).click()
    await page.getByRole('dialog').getByText('stops working immediately').waitFor()
    await page.getByRole('button', { name: 'Refresh now' }).click()
    await page.locator('#new-token').waitFor()
    await page.getByText('it will not be shown again').waitFor()
    await page.getByRole('button', { name: 'Copy the token' }).click()
    await page.getByRole('button', { name: 'Copied the token' }).waitFor()
    token = String(await page.evaluate('navigator.clipboard.readText()'))
    expect(token).toBe(await page.locator('#new-token').textContent())
    expect((await scim('GET', '/Users', acme.token)).status).toBe(401)
    expect((await scim('GET', '/Users', token)).status).toBe(200)
    await shot(page, 'token')
    await open(page, `/o/${acme.orgId}/setup`, 'Set up SCIM provisioning')
    await page.getByText('Connected: the first request came from okta').waitFor()
  })

  it('refreshes the token: a notice says the old one stopped, and SCIM refuses it', async () => {
    await open(page, `/o/${acme.orgId}/token`, 'SCIM token')
    await page.getByRole('cell', { name: `…${token.slice(-4)}` }).waitFor()
    await page.getByRole('button', { name: 'Refresh token' }).click()
    await page.getByRole('button', { name: 'Refresh now' }).click()
    await page.getByText('the old token stopped working').waitFor()
    const fresh = String(await page.locator('#new-token').textContent())
    expect((await scim('GET', '/Users', token)).status).toBe(401)
    expect((await scim('GET', '/Users', fresh)).status).toBe(200)
    token = fresh
  })

  it('finds users and a group provisioned over SCIM, tagged and with their locked fields', async () => {
    const ada = await (await scim('POST', '/Users', token, user('ada@acme.test', { displayName: 'Ada Lovelace', title: 'Engineer' }))).json() as { id: string }
    await scim('POST', '/Users', token, user('grace@acme.test', { displayName: 'Grace Hopper' }))
    const g = await scim('POST', '/Groups', token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: ada.id }] })
    expect(g.status).toBe(201)
    await open(page, `/o/${acme.orgId}/users`, 'Users')
    await page.getByLabel('Search by name, email or userName').fill('ada')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('row', { name: /grace/ }).waitFor({ state: 'detached' })
    const row = page.getByRole('row', { name: /ada@acme\.test/ })
    expect(await row.textContent()).toContain('SCIM managed · okta')
    await shot(page, 'users')
    await row.getByRole('link').click()
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor()
    expect(await page.getByText('set by okta (a SCIM-owned field)').count()).toBeGreaterThan(2)
    await shot(page, 'user')
    await open(page, `/o/${acme.orgId}/groups`, 'Groups')
    expect(await page.getByRole('row', { name: /Engineering/ }).textContent()).toContain('1')
    await shot(page, 'groups')
    await page.getByRole('link', { name: 'Engineering' }).click()
    await page.getByText('1 members').waitFor()
    await page.getByRole('link', { name: 'Ada Lovelace' }).waitFor()
    await shot(page, 'group')
  })

  it('opens the log entry of a refused request and explains it', async () => {
    expect((await scim('POST', '/Users', token, user('mallory@elsewhere.test'))).status).toBe(400)
    await t.app.provisioningLog.flush()
    await open(page, `/o/${acme.orgId}/log`, 'Provisioning log')
    await page.getByLabel('Outcome').selectOption('4xx')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.getByRole('button', { name: /400 POST \/scim\/v2\/Users/ }).first().click()
    await page.getByText('in a domain this organization does not list').waitFor()
    await page.getByText('Add the domain under Settings').waitFor()
    await shot(page, 'log')
  })

  it('the audit log, members, webhooks and operator pages pass axe-core', async () => {
    await open(page, `/o/${acme.orgId}/audit`, 'Audit log')
    await page.getByRole('cell', { name: 'token.refreshed' }).first().waitFor()
    await shot(page, 'audit')
    await open(page, `/o/${acme.orgId}/members`, 'Console members')
    await page.getByRole('cell', { name: 'viewer@acme.test', exact: true }).waitFor()
    await shot(page, 'members')
    await open(page, `/o/${acme.orgId}/webhooks`, 'Webhooks')
    await accessible(page, 'webhooks')
    await consoleAccount(t, 'op@roster.test', 'operator')
    const { context, page: op } = await newContext()
    await signIn(op, 'op@roster.test')
    await op.getByRole('heading', { level: 1, name: 'Organizations' }).waitFor()
    await op.getByRole('row', { name: /okta/ }).waitFor()
    await shot(op, 'operator')
    // A new organization starts without a token; its first domain generates one, shown once.
    await op.getByLabel('Name', { exact: true }).fill('Initech')
    await op.getByRole('button', { name: 'Create' }).click()
    await op.getByRole('link', { name: 'Initech' }).click()
    await op.getByRole('heading', { level: 1, name: 'Set up SCIM provisioning' }).waitFor()
    await op.getByText('No token yet.').waitFor()
    await op.getByRole('link', { name: 'Settings' }).click()
    await op.getByLabel('Add a domain').fill('initech.test')
    await op.getByRole('button', { name: 'Add domain' }).click()
    await op.getByText('The SCIM token was generated').waitFor()
    const initech = String(await op.locator('#new-token').textContent())
    expect((await scim('GET', '/Users', initech)).status).toBe(200)
    expect((await scim('GET', '/Users', token)).status).toBe(200)
    await context.close()
  })

  it('a viewer sees no refresh button and the API refuses the viewer\'s refresh', async () => {
    const { context, page: v } = await newContext()
    await signIn(v, 'viewer@acme.test')
    await v.getByRole('heading', { level: 1, name: 'Set up SCIM provisioning' }).waitFor()
    await open(v, `/o/${acme.orgId}/token`, 'SCIM token')
    await v.getByText('Only an admin of the organization').waitFor()
    expect(await v.getByRole('button', { name: /Refresh|Generate|Rotate/ }).count()).toBe(0)
    const answer = await v.evaluate(`(async () => {
      const s = await (await fetch('/api/v1/console/session')).json()
      const r = await fetch('/api/v1/orgs/${acme.orgId}/scim-token', { method: 'POST', headers: { 'x-csrf-token': s.csrfToken } })
      return { status: r.status, body: await r.json() }
    })()`) as { status: number; body: { error: string } }
    expect(answer).toMatchObject({ status: 403, body: { error: 'insufficient_role' } })
    expect((await scim('GET', '/Users', token)).status).toBe(200)
    await context.close()
  })

  it('refuses a change without the CSRF token, from the admin\'s own page', async () => {
    const answer = await page.evaluate(`fetch('/api/v1/orgs/${acme.orgId}/scim-token', { method: 'POST' }).then(async (r) => ({ status: r.status, body: await r.json() }))`) as { status: number; body: { error: string } }
    expect(answer).toMatchObject({ status: 403, body: { error: 'csrf_refused' } })
    expect((await scim('GET', '/Users', token)).status).toBe(200)
  })

  it('locks an email out after five failed sign-ins', async () => {
    const { context, page: p } = await newContext()
    for (let i = 0; i < 5; i++) {
      await signIn(p, 'lock@acme.test', `wrong password ${i}`)
      await p.getByRole('alert').waitFor()
    }
    await signIn(p, 'lock@acme.test')
    await p.getByRole('alert').filter({ hasText: 'Too many failed sign-ins' }).waitFor()
    await context.close()
  })

  it('filters the log by identity provider on the server: older entries of another page are found', async () => {
    // Entra's requests first, then more of Okta's than a page holds: a filter of the page shown would find none.
    for (let i = 0; i < 3; i++) expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "entra${i}@acme.test"`)}`, token, undefined, ENTRA)).status).toBe(200)
    for (let i = 0; i < 55; i++) await scim('GET', '/Groups?count=1', token)
    await t.app.provisioningLog.flush()
    await open(page, `/o/${acme.orgId}/log`, 'Provisioning log')
    await page.getByLabel('Identity provider').selectOption('entra')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByRole('button', { name: /200 GET \/scim\/v2\/Users\?filter=.*entra0/ }).waitFor()
    const entries = page.locator('ul.log > li')
    expect(await entries.count()).toBe(3)
    expect(await entries.filter({ hasText: '· entra ·' }).count()).toBe(3)
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true)
    await accessible(page, 'log filtered by identity provider')
    await page.getByLabel('Identity provider').selectOption('')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await expect.poll(() => entries.count()).toBe(50)
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(false)
  })

  it('filters users by state on the server: pending, active, suspended', async () => {
    // SCIM-created users start pending (invitations are on); one is then suspended by the identity provider.
    const sam = await (await scim('POST', '/Users', token, user('sam@acme.test', { displayName: 'Sam Suspended' }))).json() as { id: string }
    const off = await scim('PATCH', `/Users/${sam.id}`, token, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] })
    expect(off.status).toBe(200)
    await open(page, `/o/${acme.orgId}/users`, 'Users')
    await page.getByRole('row', { name: /sam@acme\.test/ }).waitFor()
    await page.getByLabel('Search by name, email or userName').fill('')
    await page.getByLabel('State').selectOption('pending')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('row', { name: /sam@acme\.test/ }).waitFor({ state: 'detached' })
    await page.getByRole('row', { name: /ada@acme\.test/ }).waitFor()
    const states = async () => (await page.locator('tbody tr td:nth-child(3)').allTextContents()).sort()
    expect(new Set(await states())).toEqual(new Set(['pending']))
    await accessible(page, 'users filtered by state')
    await page.getByLabel('State').selectOption('suspended')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('row', { name: /ada@acme\.test/ }).waitFor({ state: 'detached' })
    expect(await page.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('sam@acme.test')])
    await page.getByLabel('State').selectOption('active')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByText('No users.').waitFor()
  })

  it('a viewer reads webhooks (endpoints, deliveries, failures) without a secret or an action, and the API refuses the viewer\'s redelivery', async () => {
    const admin = await sessionOf(t, 'admin@acme.test')
    const headers = { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' }
    const added = await t.app.inject({
      method: 'POST', url: `/api/v1/orgs/${acme.orgId}/webhooks`, headers, payload: JSON.stringify({ url: `${rx.url}?code=function-key-123`, eventTypes: ['user.created'] }),
    })
    expect(added.statusCode).toBe(201)
    const { id, secret } = JSON.parse(added.body) as { id: string; secret: string }
    rx.secrets = [secret]
    expect((await scim('POST', '/Users', token, user('hooked@acme.test'))).status).toBe(201)
    // The delivery fails (the receiver answers 500) and is recorded.
    await expect.poll(async () => {
      const r = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${acme.orgId}/webhooks/${id}/attempts`, headers: { cookie: admin.cookie } })
      return (JSON.parse(r.body) as { data: unknown[] }).data.length
    }, { timeout: 20_000 }).toBeGreaterThan(0)

    const { context, page: v } = await newContext()
    await signIn(v, 'viewer@acme.test')
    await v.getByRole('heading', { level: 1, name: 'Set up SCIM provisioning' }).waitFor()
    await open(v, `/o/${acme.orgId}/webhooks`, 'Webhooks')
    await v.getByText('only an admin of the organization can send a test').waitFor()
    const endpoint = v.getByRole('button', { name: new RegExp(`${rx.url.replace(/[.?]/g, '\\$&')}\\?code=redacted`) })
    await endpoint.click()
    await v.getByRole('table', { name: 'Latest deliveries' }).getByRole('cell', { name: '500' }).first().waitFor()
    expect(await v.getByRole('button', { name: /Redeliver|Replay|Send a test/ }).count()).toBe(0)
    const html = await v.content()
    expect(html).not.toContain('function-key-123')
    expect(html).not.toContain(secret)
    await accessible(v, 'webhooks (viewer)')
    const answer = await v.evaluate(`(async () => {
      const s = await (await fetch('/api/v1/console/session')).json()
      const hooks = await (await fetch('/api/v1/orgs/${acme.orgId}/webhooks')).json()
      const id = hooks.data[0].id
      const attempts = await (await fetch('/api/v1/orgs/${acme.orgId}/webhooks/' + id + '/attempts')).json()
      const r = await fetch('/api/v1/orgs/${acme.orgId}/webhooks/' + id + '/redeliver', { method: 'POST', headers: { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ eventId: attempts.data[0].eventId }) })
      const d = await fetch('/api/v1/orgs/${acme.orgId}/webhooks/' + id, { method: 'DELETE', headers: { 'x-csrf-token': s.csrfToken } })
      return { redeliver: r.status, error: (await r.json()).error, remove: d.status }
    })()`) as { redeliver: number; error: string; remove: number }
    expect(answer).toEqual({ redeliver: 403, error: 'insufficient_role', remove: 403 })
    await context.close()
    // The admin sees the actions.
    await open(page, `/o/${acme.orgId}/webhooks`, 'Webhooks')
    await page.getByRole('button', { name: new RegExp('code=function-key-123') }).click()
    await page.getByRole('button', { name: 'Redeliver' }).first().waitFor()
  })

  it('the operator pages through many organizations in name order, whatever their case', async () => {
    const names = Array.from({ length: 55 }, (_, i) => `${i % 2 === 0 ? 'tenant' : 'Tenant'} ${String(i).padStart(2, '0')}`)
    for (const n of names) await t.newOrg(n)
    const { context, page: op } = await newContext()
    await signIn(op, 'op@roster.test')
    await op.getByRole('heading', { level: 1, name: 'Organizations' }).waitFor()
    const rows = op.locator('tbody tr')
    await expect.poll(() => rows.count()).toBe(50)
    const seen = await op.locator('tbody tr td:first-child').allTextContents()
    await op.getByRole('button', { name: 'Next' }).click()
    await op.getByRole('link', { name: 'tenant 54' }).waitFor()
    seen.push(...await op.locator('tbody tr td:first-child').allTextContents())
    for (const n of names) expect(seen.filter((x) => x === n), n).toHaveLength(1)
    const folded = seen.map((x) => x.toLowerCase())
    expect(folded).toEqual([...folded].sort())
    await accessible(op, 'operator, second page')
    await op.getByRole('button', { name: 'Previous' }).click()
    await op.getByRole('link', { name: 'Acme Corp' }).waitFor()
    await context.close()
  })

  it('the reset and link pages pass axe-core, and pages fit a phone\'s width', async () => {
    const { context, page: p } = await newContext()
    await open(p, '/forgot', 'Reset your password')
    await shot(p, 'forgot-password')
    await open(p, '/link?token=roster_link_x&setup=1', 'Create the operator account')
    await accessible(p, 'link')
    await context.close()
    await page.setViewportSize({ width: 390, height: 844 })
    for (const [hash, heading] of [[`/o/${acme.orgId}/users`, 'Users'], [`/o/${acme.orgId}/settings`, 'Settings'], [`/o/${acme.orgId}/token`, 'SCIM token']] as const) {
      await open(page, hash, heading)
      const wide = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('table')).map((e) => e.tagName + '.' + e.className).slice(0, 5)`)
      expect(wide, hash).toEqual([])
      expect(await page.evaluate('document.documentElement.scrollWidth'), hash).toBeLessThanOrEqual(390)
    }
    await page.screenshot({ path: join(SHOTS, 'phone-users.png') })
    expect(errors).toEqual([])
  })
})
