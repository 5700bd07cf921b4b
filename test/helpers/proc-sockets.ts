// Which process sent a request: the local ports of the TCP connections some processes hold open
// to a port (Linux: their socket descriptors in /proc/PID/fd matched by inode against
// /proc/net/tcp and tcp6). A receiver that records each request's remote port can then tell which
// of several spawned processes sent it, while the connection is open. The tables list every
// socket of the machine, so they are read once a call, and callers call only for ports they have
// not placed yet: read in a loop, they would keep the caller's own event loop busy.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** The local ports of the connections processes `pids` hold open to `remotePort`, each with the pid holding it. */
export function connectionsTo(pids: readonly number[], remotePort: number): Map<number, number> {
  const owner = new Map<string, number>()
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m?.[1]) owner.set(m[1], pid)
      } catch {
        // Closed since the listing.
      }
    }
  }
  const ports = new Map<number, number>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      const [local, remote, inode] = [f[1], f[2], f[9]]
      const pid = inode === undefined ? undefined : owner.get(inode)
      if (!local || !remote || pid === undefined) continue
      if (parseInt(remote.split(':')[1] ?? '', 16) === remotePort) ports.set(parseInt(local.split(':')[1] ?? '', 16), pid)
    }
  }
  return ports
}
