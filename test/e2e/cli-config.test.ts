// `roster config check`: every variable checked, the first bad one named with its code; the
// result printed with its secrets hidden.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const check = (env: NodeJS.ProcessEnv) => run('node', [BIN, 'config', 'check', '--json'], { env: { PATH: process.env.PATH, ...env } }).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: '' }), (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }))

describe('roster config check', () => {
  it('prints the configuration without its secrets', async () => {
    const r = await check({ ROSTER_DATABASE_URL: 'postgres://roster:db-s3cret@db.internal/roster', ROSTER_METRICS_TOKEN: 'metrics-s3cret-0123456789', ROSTER_SMTP_URL: 'smtps://mailer:smtp-s3cret@mail.example.com:465', PORT: '9090' })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ port: 9090, database: 'postgres://roster:***@db.internal/roster', metricsToken: '***', smtpUrl: 'smtps://mailer:***@mail.example.com:465' })
    expect(r.stdout).not.toMatch(/s3cret/)
  })

  it('names the variable that is wrong, with its code, and exits 1', async () => {
    expect(await check({ ROSTER_SHUTDOWN_TIMEOUT_MS: 'soon' })).toMatchObject({ code: 1, stderr: 'error ROSTER_ERR_CONFIG_ROSTER_SHUTDOWN_TIMEOUT_MS: ROSTER_SHUTDOWN_TIMEOUT_MS must be an integer from 1000 to 600000, got "soon"\n' })
    expect(await check({ LOG_LEVEL: 'loud' })).toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_CONFIG_LOG_LEVEL') })
  })
})
