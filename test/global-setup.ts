// Makes PostgreSQL reachable for the store matrix: uses TEST_DATABASE_URL when set, otherwise
// starts a throwaway cluster with the machine's initdb/pg_ctl on a spare port, and stops it
// after the run. Without PostgreSQL binaries the PostgreSQL half is skipped (and says so).
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'

function pgBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env.TEST_DATABASE_URL) return undefined
  if (process.env.ROSTER_TEST_NO_POSTGRES === '1') return undefined
  const bin = pgBin()
  if (!bin) {
    console.warn('[roster tests] PostgreSQL binaries not found: running the SQLite half only')
    return undefined
  }
  const dir = mkdtempSync(join(tmpdir(), 'roster-pg-'))
  chmodSync(dir, 0o777)
  const data = join(dir, 'data')
  const port = await freePort()
  // initdb refuses to run as root: run the cluster as the postgres user when we are root.
  const asPg = (cmd: string, args: string[]) => {
    const full = [join(bin, cmd), ...args]
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', ...full], { stdio: 'pipe' })
    else execFileSync(full[0] as string, full.slice(1), { stdio: 'pipe' })
  }
  asPg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'])
  asPg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300`, 'start'])
  process.env.TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/postgres`
  return () => {
    try {
      asPg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
