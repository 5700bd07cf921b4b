import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('defaults to 127.0.0.1:8080 on an embedded SQLite file under ./data', () => {
    const c = loadConfig({})
    expect(c.host).toBe('127.0.0.1')
    expect(c.port).toBe(8080)
    expect(c.database).toEqual({ kind: 'sqlite', path: expect.stringMatching(/data\/roster\.db$/) })
    expect(c.limits.maxBodyBytes).toBe(1024 * 1024)
    expect(c.limits.maxBulkOperations).toBe(1000)
    expect(loadConfig({ ROSTER_MAX_BULK_OPERATIONS: '50' }).limits.maxBulkOperations).toBe(50)
    expect(c.requestTimeoutMs).toBeLessThanOrEqual(25_000)
  })

  it('reads PostgreSQL URLs and the knobs', () => {
    const c = loadConfig({ ROSTER_DATABASE_URL: 'postgres://u:p@db/r', PORT: '9000', ROSTER_DB_POOL_SIZE: '4', ROSTER_PUBLIC_URL: 'https://r.example.com/' })
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db/r', allowFsyncOff: false })
    expect(c).toMatchObject({ port: 9000, dbPoolSize: 4, publicUrl: 'https://r.example.com' })
  })

  it('reads the trusted proxies as addresses and CIDR ranges, and refuses anything else', () => {
    expect(loadConfig({}).trustedProxies).toEqual([])
    expect(loadConfig({ ROSTER_TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16,::1,fd00::/8' }).trustedProxies).toEqual(['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8'])
    for (const bad of ['proxy.internal', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129']) {
      expect(() => loadConfig({ ROSTER_TRUSTED_PROXIES: bad }), bad).toThrow(/ROSTER_TRUSTED_PROXIES must list addresses or CIDR ranges/)
    }
  })

  it('serves TLS with both ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE, plain HTTP with neither; one without the other names the missing variable', () => {
    expect(loadConfig({}).tls).toBeNull()
    expect(loadConfig({ ROSTER_TLS_CERT_FILE: '', ROSTER_TLS_KEY_FILE: ' ' }).tls).toBeNull()
    expect(loadConfig({ ROSTER_TLS_CERT_FILE: '/etc/roster/fullchain.pem', ROSTER_TLS_KEY_FILE: 'privkey.pem' }).tls).toEqual({ certFile: '/etc/roster/fullchain.pem', keyFile: expect.stringMatching(/^\/.*\/privkey\.pem$/) })
    expect(() => loadConfig({ ROSTER_TLS_CERT_FILE: '/etc/roster/fullchain.pem' })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_CONFIG_ROSTER_TLS_KEY_FILE', message: expect.stringMatching(/^ROSTER_TLS_CERT_FILE is set but ROSTER_TLS_KEY_FILE is not: set both/) }))
    expect(() => loadConfig({ ROSTER_TLS_KEY_FILE: '/etc/roster/privkey.pem' })).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_CONFIG_ROSTER_TLS_CERT_FILE', message: expect.stringMatching(/^ROSTER_TLS_KEY_FILE is set but ROSTER_TLS_CERT_FILE is not/) }))
  })

  it('allows a PostgreSQL server with fsync=off only with ROSTER_POSTGRES_ALLOW_FSYNC_OFF=1', () => {
    expect(loadConfig({ ROSTER_DATABASE_URL: 'postgres://db/r', ROSTER_POSTGRES_ALLOW_FSYNC_OFF: '1' }).database).toEqual({ kind: 'postgres', url: 'postgres://db/r', allowFsyncOff: true })
    expect(() => loadConfig({ ROSTER_POSTGRES_ALLOW_FSYNC_OFF: 'yes' })).toThrow(/ROSTER_POSTGRES_ALLOW_FSYNC_OFF must be 1 or 0/)
  })

  it('bounds slow clients: headers within 10 s (never past the request timeout), idle keep-alive connections 5 s', () => {
    expect(loadConfig({})).toMatchObject({ headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 })
    expect(loadConfig({ ROSTER_REQUEST_TIMEOUT_MS: '3000', ROSTER_HEADERS_TIMEOUT_MS: '8000', ROSTER_KEEP_ALIVE_TIMEOUT_MS: '65000' })).toMatchObject({ headersTimeoutMs: 3_000, keepAliveTimeoutMs: 65_000 })
    expect(() => loadConfig({ ROSTER_HEADERS_TIMEOUT_MS: '100' })).toThrow(ConfigError)
  })

  it('keeps shared domains off unless ROSTER_SHARED_DOMAINS=1', () => {
    expect(loadConfig({}).sharedDomains).toBe(false)
    expect(loadConfig({ ROSTER_SHARED_DOMAINS: '1' }).sharedDomains).toBe(true)
  })

  it('limits each SCIM token and organization well above Entra ID\'s 25 requests a second unless told otherwise (0: off)', () => {
    expect(loadConfig({}).rateLimits).toEqual({ tokenPerSecond: 500, orgPerSecond: 1_000, burstSeconds: 2 })
    expect(loadConfig({ ROSTER_RATE_LIMIT_TOKEN: '0', ROSTER_RATE_LIMIT_ORG: '30', ROSTER_RATE_LIMIT_BURST_SECONDS: '5' }).rateLimits).toEqual({ tokenPerSecond: 0, orgPerSecond: 30, burstSeconds: 5 })
  })

  it('gives a SCIM request 15 s to be answered, never more than the request timeout', () => {
    expect(loadConfig({}).requestDeadlineMs).toBe(15_000)
    expect(loadConfig({ ROSTER_REQUEST_TIMEOUT_MS: '10000' }).requestDeadlineMs).toBe(10_000)
    expect(loadConfig({ ROSTER_REQUEST_DEADLINE_MS: '2000' }).requestDeadlineMs).toBe(2_000)
  })

  it.each([
    [{ ROSTER_REQUEST_DEADLINE_MS: '30000' }, 'ROSTER_ERR_CONFIG_ROSTER_REQUEST_DEADLINE_MS'],
    [{ ROSTER_RATE_LIMIT_TOKEN: '-1' }, 'ROSTER_ERR_CONFIG_ROSTER_RATE_LIMIT_TOKEN'],
    [{ ROSTER_RATE_LIMIT_BURST_SECONDS: '0' }, 'ROSTER_ERR_CONFIG_ROSTER_RATE_LIMIT_BURST_SECONDS'],
    [{ ROSTER_DATABASE_URL: 'mysql://x' }, 'ROSTER_ERR_CONFIG_DB_URL'],
    [{ ROSTER_DATABASE_URL: 'sqlite:' }, 'ROSTER_ERR_CONFIG_DB_URL'],
    [{ PORT: 'eighty' }, 'ROSTER_ERR_CONFIG_PORT'],
    [{ ROSTER_MAX_BULK_OPERATIONS: '0' }, 'ROSTER_ERR_CONFIG_ROSTER_MAX_BULK_OPERATIONS'],
    [{ ROSTER_REQUEST_TIMEOUT_MS: '60000' }, 'ROSTER_ERR_CONFIG_ROSTER_REQUEST_TIMEOUT_MS'],
    [{ ROSTER_SHARED_DOMAINS: 'yes' }, 'ROSTER_ERR_CONFIG_ROSTER_SHARED_DOMAINS'],
  ])('refuses %o with %s', (env, code) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    try {
      loadConfig(env)
    } catch (e) {
      expect((e as ConfigError).code).toBe(code)
    }
  })
})

describe('loadConfig: invitation emails', () => {
  it('writes .eml files beside the SQLite database unless ROSTER_SMTP_URL is set; defaults the rest', () => {
    const c = loadConfig({})
    expect(c.smtpUrl).toBeNull()
    expect(c.outboxDir).toMatch(/data\/outbox$/)
    expect(c).toMatchObject({ productName: 'Roster', invitationTtlDays: 7, mailWorker: true, inviteUrl: expect.stringContaining('{token}') })
    expect(loadConfig({ ROSTER_DATABASE_URL: 'sqlite:/srv/roster/r.db' }).outboxDir).toBe('/srv/roster/outbox')
    expect(loadConfig({ ROSTER_DATABASE_URL: 'postgres://db/r' }).outboxDir).toMatch(/data\/outbox$/)
    const set = loadConfig({
      ROSTER_SMTP_URL: 'smtp://127.0.0.1:2525', ROSTER_OUTBOX_DIR: '/tmp/x', ROSTER_INVITE_URL: 'https://app.example.com/join/{token}',
      ROSTER_PRODUCT_NAME: 'Acme Cloud', ROSTER_MAIL_FROM: 'Acme <no-reply@acme.com>', ROSTER_INVITATION_TTL_DAYS: '14', ROSTER_NO_MAIL_WORKER: '1',
    })
    expect(set).toMatchObject({
      smtpUrl: 'smtp://127.0.0.1:2525', outboxDir: '/tmp/x', inviteUrl: 'https://app.example.com/join/{token}', productName: 'Acme Cloud',
      mailFrom: 'Acme <no-reply@acme.com>', invitationTtlDays: 14, mailWorker: false,
    })
  })

  it.each([
    [{ ROSTER_INVITE_URL: 'https://app.example.com/join' }, 'ROSTER_ERR_CONFIG_ROSTER_INVITE_URL'],
    [{ ROSTER_INVITE_URL: 'javascript:alert({token})' }, 'ROSTER_ERR_CONFIG_ROSTER_INVITE_URL'],
    [{ ROSTER_INVITE_URL: '/join/{token}' }, 'ROSTER_ERR_CONFIG_ROSTER_INVITE_URL'],
    [{ ROSTER_SMTP_URL: 'http://mail.example.com' }, 'ROSTER_ERR_CONFIG_ROSTER_SMTP_URL'],
    [{ ROSTER_INVITATION_TTL_DAYS: '0' }, 'ROSTER_ERR_CONFIG_ROSTER_INVITATION_TTL_DAYS'],
    [{ ROSTER_INVITATION_TTL_DAYS: '91' }, 'ROSTER_ERR_CONFIG_ROSTER_INVITATION_TTL_DAYS'],
    [{ ROSTER_MAIL_FROM: 'nobody' }, 'ROSTER_ERR_CONFIG_ROSTER_MAIL_FROM'],
    [{ ROSTER_MAIL_FROM: 'a@acme.com, b@acme.com' }, 'ROSTER_ERR_CONFIG_ROSTER_MAIL_FROM'],
    [{ ROSTER_PRODUCT_NAME: 'Acme\r\nBcc: x@example.com' }, 'ROSTER_ERR_CONFIG_ROSTER_PRODUCT_NAME'],
    [{ ROSTER_NO_MAIL_WORKER: 'yes' }, 'ROSTER_ERR_CONFIG_ROSTER_NO_MAIL_WORKER'],
  ])('refuses %o with %s', (env, code) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code }))
  })

  it('never repeats an SMTP URL, which may hold a password', () => {
    expect(() => loadConfig({ ROSTER_SMTP_URL: 'mail://user:s3cret@host' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }))
  })

  it('reads the operations settings: metrics off, 25 s to shut down, unless set', () => {
    expect(loadConfig({})).toMatchObject({ metricsToken: null, metricsPort: null, metricsOrgLabel: false, shutdownTimeoutMs: 25_000, requestLog: true, logLevel: 'info' })
    expect(loadConfig({ ROSTER_REQUEST_LOG: '0', LOG_LEVEL: 'debug' })).toMatchObject({ requestLog: false, logLevel: 'debug' })
    expect(loadConfig({ ROSTER_METRICS_TOKEN: 'a-long-enough-token', ROSTER_METRICS_PORT: '9464', ROSTER_METRICS_ORG_LABEL: '1', ROSTER_SHUTDOWN_TIMEOUT_MS: '5000' }))
      .toMatchObject({ metricsToken: 'a-long-enough-token', metricsPort: 9464, metricsOrgLabel: true, shutdownTimeoutMs: 5_000 })
  })

  it.each([
    [{ ROSTER_METRICS_TOKEN: 'short' }, 'ROSTER_ERR_CONFIG_ROSTER_METRICS_TOKEN'],
    [{ ROSTER_METRICS_PORT: 'nine' }, 'ROSTER_ERR_CONFIG_ROSTER_METRICS_PORT'],
    [{ ROSTER_METRICS_ORG_LABEL: 'yes' }, 'ROSTER_ERR_CONFIG_ROSTER_METRICS_ORG_LABEL'],
    [{ ROSTER_SHUTDOWN_TIMEOUT_MS: '10' }, 'ROSTER_ERR_CONFIG_ROSTER_SHUTDOWN_TIMEOUT_MS'],
    [{ ROSTER_REQUEST_LOG: 'on' }, 'ROSTER_ERR_CONFIG_ROSTER_REQUEST_LOG'],
    [{ LOG_LEVEL: 'verbose' }, 'ROSTER_ERR_CONFIG_LOG_LEVEL'],
  ])('refuses %o with %s, never repeating a token', (env, code) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code, message: expect.not.stringContaining('short') }))
  })
})
