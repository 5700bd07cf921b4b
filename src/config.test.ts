import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('defaults to 127.0.0.1:8080 on an embedded SQLite file under ./data', () => {
    const c = loadConfig({})
    expect(c.host).toBe('127.0.0.1')
    expect(c.port).toBe(8080)
    expect(c.database).toEqual({ kind: 'sqlite', path: expect.stringMatching(/data\/roster\.db$/) })
    expect(c.limits.maxBodyBytes).toBe(1024 * 1024)
    expect(c.requestTimeoutMs).toBeLessThanOrEqual(25_000)
  })

  it('reads PostgreSQL URLs and the knobs', () => {
    const c = loadConfig({ ROSTER_DATABASE_URL: 'postgres://u:p@db/r', PORT: '9000', ROSTER_DB_POOL_SIZE: '4', ROSTER_PUBLIC_URL: 'https://r.example.com/' })
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db/r' })
    expect(c).toMatchObject({ port: 9000, dbPoolSize: 4, publicUrl: 'https://r.example.com' })
  })

  it('keeps shared domains off unless ROSTER_SHARED_DOMAINS=1', () => {
    expect(loadConfig({}).sharedDomains).toBe(false)
    expect(loadConfig({ ROSTER_SHARED_DOMAINS: '1' }).sharedDomains).toBe(true)
  })

  it.each([
    [{ ROSTER_DATABASE_URL: 'mysql://x' }, 'ROSTER_ERR_CONFIG_DB_URL'],
    [{ ROSTER_DATABASE_URL: 'sqlite:' }, 'ROSTER_ERR_CONFIG_DB_URL'],
    [{ PORT: 'eighty' }, 'ROSTER_ERR_CONFIG_PORT'],
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
