// A throwaway PostgreSQL cluster from the machine's initdb/pg_ctl, on a spare port, run as the
// postgres user when the tests run as root (initdb refuses root).
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { freePort } from './free-port.ts'
import { join } from 'node:path'

export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

export interface Cluster {
  readonly url: string
  start(): void
  /** Stops the server the way a crash or an operator would: connections are cut. */
  stop(): void
  destroy(): void
}

export async function createCluster(bin: string): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'roster-pg-'))
  chmodSync(dir, 0o777)
  const data = join(dir, 'data')
  const port = await freePort()
  const asPg = (cmd: string, args: string[]) => {
    const full = [join(bin, cmd), ...args]
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', ...full], { stdio: 'pipe' })
    else execFileSync(full[0] as string, full.slice(1), { stdio: 'pipe' })
  }
  asPg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'])
  const start = () => asPg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`, 'start'])
  start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => asPg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    destroy: () => {
      try {
        asPg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
