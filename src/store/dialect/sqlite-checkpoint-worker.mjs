// The SQLite checkpointer: copies committed WAL frames into the database file on its own
// connection and thread, so that no request waits for a checkpoint. The writer turns its
// automatic checkpoints off while this runs (dialect/sqlite.ts). PASSIVE never blocks the
// writer or readers; with synchronous=FULL this connection syncs the WAL before copying and
// the database file after, as an automatic checkpoint would.
import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'

const { path, intervalMs } = workerData
const db = new BetterSqlite3(path, { fileMustExist: true })
db.pragma('busy_timeout = 1000')
db.pragma('synchronous = FULL')

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // Busy or interrupted: the next round catches up.
  }
}

const timer = setInterval(checkpoint, intervalMs)
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer)
    checkpoint()
    db.close()
    parentPort.postMessage('stopped')
  }
})
parentPort.postMessage('ready')
