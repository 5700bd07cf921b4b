// /console: the built console's files with their security headers; a console that is not built
// is a 503 that says how to build it; nothing outside the build directory is ever served.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe('serving the console', () => {
  let dir = ''
  let t: TestApp
  let unbuilt: TestApp
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-console-'))
    mkdirSync(join(dir, 'dist/assets'), { recursive: true })
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>console</title>')
    writeFileSync(join(dir, 'dist/assets/app-1234.js'), 'console.log(1)')
    writeFileSync(join(dir, 'secret.txt'), 'not for the web')
    const sqlite = storeMatrix()[0]
    if (!sqlite) throw new Error('no store')
    t = await startApp(sqlite, {}, { consoleDir: join(dir, 'dist') })
    unbuilt = await startApp(sqlite, {}, { consoleDir: join(dir, 'missing') })
  })
  afterAll(async () => {
    await t.close()
    await unbuilt.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves index.html at /console and /console/ with a strict CSP, and hashed assets as immutable', async () => {
    for (const url of ['/console', '/console/']) {
      const r = await t.app.inject({ method: 'GET', url })
      expect(r.statusCode).toBe(200)
      expect(r.headers['content-type']).toMatch(/^text\/html/)
      expect(r.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/)
      expect(r.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/)
      expect(r.headers['x-content-type-options']).toBe('nosniff')
      expect(r.body).toContain('<title>console</title>')
    }
    const asset = await t.app.inject({ method: 'GET', url: '/console/assets/app-1234.js' })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/)
    expect(asset.headers['cache-control']).toMatch(/immutable/)
  })

  it('never serves a file outside the build, and answers 404 for a missing one', async () => {
    for (const url of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/assets/%2e%2e/%2e%2e/secret.txt', '/console/nothing.js']) {
      const r = await t.app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(404)
      expect(r.body).not.toContain('not for the web')
    }
  })

  it('a console that is not built is a 503 saying how to build it', async () => {
    const r = await unbuilt.app.inject({ method: 'GET', url: '/console' })
    expect(r.statusCode).toBe(503)
    expect(r.body).toMatch(/npm run build:console/)
  })
})
