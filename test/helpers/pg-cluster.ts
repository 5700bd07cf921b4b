// A throwaway PostgreSQL cluster from the machine's initdb/pg_ctl, on a spare port, run as the
// postgres user when the tests run as root (initdb refuses root).
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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
  /** Stops the server the way an operator would: connections are cut. */
  stop(): void
  /** SIGKILL to the postmaster and every process of the server at once, as a crash of the server; start() recovers from its WAL. */
  crash(): void
  destroy(): void
}

/** `settings`: extra `-c name=value` server settings, e.g. `['fsync=off']`. */
export async function createCluster(bin: string, settings: readonly string[] = []): Promise<Cluster> {
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
  const extra = settings.map((s) => ` -c ${s}`).join('')
  const start = () => asPg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300${extra}`, 'start'])
  start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => asPg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    crash: () => {
      const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter((l) => l !== '')
      execFileSync('kill', ['-9', String(postmaster), ...children])
      // The postmaster is gone when pg_ctl says so; it then starts afresh, with crash recovery.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(postmaster, 0)
        } catch {
          return
        }
        execFileSync('sleep', ['0.05'])
      }
    },
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
