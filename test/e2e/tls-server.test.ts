// `roster serve` as production runs it, with and without TLS (docs/architecture.md NET-1,
// docs/security.md "TLS"): SIGHUP reads the certificate files again (a renewed certificate needs
// no restart; a bad one leaves the previous one served), plain HTTP beyond loopback is warned
// about once at start unless TLS is served or a trusted proxy is said to terminate it, and a
// certificate variable without the other, or files that do not load, stop the start.
// SQLite only: what is tested is the process and its sockets, not the store.
import { spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { BIN, serverEnv } from '../helpers/spawned-server.ts'
import { fixture, handshake, httpsCall } from '../helpers/tls.ts'

interface Roster {
  readonly proc: ChildProcess
  readonly port: number
  /** Standard output (the JSON log) and standard error so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the first log line matching `re` (waits for it). */
  logLine(re: RegExp): Promise<string>
  /** The exit code, once the process has exited. */
  readonly exited: Promise<number | null>
  stop(): Promise<void>
}

const dirs: string[] = []
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'roster-tls-server-'))
  dirs.push(dir)
  return dir
}

async function roster(env: Record<string, string>): Promise<Roster> {
  const port = await freePort()
  const dir = scratch()
  const proc = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...serverEnv(`sqlite:${join(dir, 'r.db')}`, { LOG_LEVEL: 'info', ROSTER_REQUEST_LOG: '0', ...env }), PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = []
  const match = () => {
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l))
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
    match()
  })
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return {
    proc, port, exited,
    stdout: () => out,
    stderr: () => err,
    logLine: (re) => new Promise((resolve, reject) => {
      waiters.push({ re, resolve })
      match()
      void exited.then(() => reject(new Error(`roster serve exited before logging ${String(re)}: ${err}${out}`)))
    }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      await exited
    },
  }
}

const fingerprint = (cert: Buffer): string => new X509Certificate(cert).fingerprint256

describe('roster serve with and without TLS (SQLite only: the process and its sockets)', () => {
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('SIGHUP serves a renewed certificate to new connections without a restart; a pair that does not load at a reload is logged, and the previous one stays served', async () => {
    const dir = scratch()
    const certFile = join(dir, 'fullchain.pem')
    const keyFile = join(dir, 'privkey.pem')
    const [first, renewed] = [fixture('rsa'), fixture('rsa-renewed')]
    copyFileSync(first.certFile, certFile)
    copyFileSync(first.keyFile, keyFile)
    const r = await roster({ ROSTER_TLS_CERT_FILE: certFile, ROSTER_TLS_KEY_FILE: keyFile })
    try {
      expect(await r.logLine(/Roster listening/)).toContain(`Roster listening on https://127.0.0.1:${r.port}`)
      expect(await handshake(r.port)).toMatchObject({ ok: true, fingerprint256: fingerprint(first.cert) })

      copyFileSync(renewed.certFile, certFile)
      copyFileSync(renewed.keyFile, keyFile)
      r.proc.kill('SIGHUP')
      expect(await r.logLine(/TLS certificate reloaded/)).toContain(certFile)
      expect(await handshake(r.port)).toMatchObject({ ok: true, fingerprint256: fingerprint(renewed.cert) })
      expect((await httpsCall(`https://127.0.0.1:${r.port}`, 'GET', '/healthz')).status).toBe(200)

      // Half a renewal: the new certificate beside the old key.
      copyFileSync(first.certFile, certFile)
      r.proc.kill('SIGHUP')
      const refused = JSON.parse(await r.logLine(/TLS certificate not reloaded/)) as Record<string, unknown>
      expect(refused).toMatchObject({ code: 'ROSTER_ERR_TLS_CERTIFICATE', reason: expect.stringMatching(/key values mismatch/) })
      expect(await handshake(r.port)).toMatchObject({ ok: true, fingerprint256: fingerprint(renewed.cert) })
      expect((await httpsCall(`https://127.0.0.1:${r.port}`, 'GET', '/healthz')).status).toBe(200)
      expect(r.proc.exitCode).toBeNull()
    } finally {
      await r.stop()
    }
  })

  it('plain HTTP on HOST=0.0.0.0 logs one warning at start naming ROSTER_TLS_CERT_FILE; none with TLS, none with ROSTER_TRUSTED_PROXIES, none on 127.0.0.1', async () => {
    const rsa = fixture('rsa')
    const cases = {
      plain: { HOST: '0.0.0.0' },
      tls: { HOST: '0.0.0.0', ROSTER_TLS_CERT_FILE: rsa.certFile, ROSTER_TLS_KEY_FILE: rsa.keyFile },
      proxied: { HOST: '0.0.0.0', ROSTER_TRUSTED_PROXIES: '10.0.0.0/8' },
      loopback: { HOST: '127.0.0.1' },
    }
    const warnings = Object.fromEntries(await Promise.all(Object.entries(cases).map(async ([name, env]) => {
      const r = await roster(env)
      try {
        await r.logLine(/Roster listening/)
        const lines = r.stdout().split('\n').filter((l) => l.includes('serving plain HTTP'))
        return [name, lines.map((l) => JSON.parse(l) as Record<string, unknown>)] as const
      } finally {
        await r.stop()
      }
    })))
    expect(warnings.plain).toHaveLength(1)
    expect(warnings.plain?.[0]).toMatchObject({ level: 40, host: '0.0.0.0', msg: expect.stringMatching(/^serving plain HTTP on HOST 0\.0\.0\.0, beyond loopback: .*ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE .*ROSTER_TRUSTED_PROXIES/) })
    expect({ tls: warnings.tls, proxied: warnings.proxied, loopback: warnings.loopback }).toEqual({ tls: [], proxied: [], loopback: [] })
  })

  it('a TLS variable without the other, a file that cannot be read, or a key of another certificate stops roster serve: exit code 1 and an error naming the variable', async () => {
    const [rsa, other] = [fixture('rsa'), fixture('rsa-renewed')]
    const junk = join(scratch(), 'junk.pem')
    writeFileSync(junk, 'not a key\n')
    const cases: [Record<string, string>, RegExp][] = [
      [{ ROSTER_TLS_CERT_FILE: rsa.certFile }, /^error ROSTER_ERR_CONFIG_ROSTER_TLS_KEY_FILE: ROSTER_TLS_CERT_FILE is set but ROSTER_TLS_KEY_FILE is not/],
      [{ ROSTER_TLS_KEY_FILE: rsa.keyFile }, /^error ROSTER_ERR_CONFIG_ROSTER_TLS_CERT_FILE: ROSTER_TLS_KEY_FILE is set but ROSTER_TLS_CERT_FILE is not/],
      [{ ROSTER_TLS_CERT_FILE: join(scratch(), 'none.pem'), ROSTER_TLS_KEY_FILE: rsa.keyFile }, /^error ROSTER_ERR_CONFIG_ROSTER_TLS_CERT_FILE: ROSTER_TLS_CERT_FILE: .*none\.pem cannot be read \(ENOENT\)/],
      [{ ROSTER_TLS_CERT_FILE: rsa.certFile, ROSTER_TLS_KEY_FILE: other.keyFile }, /^error ROSTER_ERR_TLS_CERTIFICATE: .*key values mismatch/],
      [{ ROSTER_TLS_CERT_FILE: rsa.certFile, ROSTER_TLS_KEY_FILE: junk }, /^error ROSTER_ERR_TLS_CERTIFICATE: ROSTER_TLS_CERT_FILE .* and ROSTER_TLS_KEY_FILE .*junk\.pem do not make a TLS certificate/],
    ]
    const outcomes = await Promise.all(cases.map(async ([env]) => {
      const r = await roster(env)
      return { code: await r.exited, stderr: r.stderr() }
    }))
    outcomes.forEach((o, i) => {
      expect(o.code, JSON.stringify(cases[i]?.[0])).toBe(1)
      expect(o.stderr, JSON.stringify(cases[i]?.[0])).toMatch(cases[i]?.[1] as RegExp)
    })
  })
})
