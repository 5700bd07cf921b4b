// What the console's browser tests share with console.test.ts: Debian's Chromium (or
// ROSTER_CHROMIUM) and the built console (console/dist); why a file is skipped when either is
// missing; the browser launched headless; signing in; a SCIM request as an identity provider sends it.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
export const CHROMIUM = process.env.ROSTER_CHROMIUM ?? '/usr/bin/chromium'
export const DIST = join(ROOT, 'console/dist')

/** Why the browser tests cannot run here, or null when they can. */
export function missingBrowser(): string | null {
  if (!existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (install Debian's chromium package)`
  if (!existsSync(join(DIST, 'index.html'))) return 'the console is not built (npm run build:console)'
  return null
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] })
}

/** The server's base URL for the browser: localhost, a secure context, so the Secure session cookie is kept over plain HTTP. */
export function browserBase(listeningOn: string): string {
  return listeningOn.replace('127.0.0.1', 'localhost')
}

/** A SCIM request with `token`, as Okta's client sends it. */
export function scim(base: string, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'user-agent': 'Okta SCIM Client 1.0.0', ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Opens the console at `base` and signs in; resolves on the organization admin's first page. */
export async function signInAt(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/console/`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'Set up SCIM provisioning' }).waitFor()
}
