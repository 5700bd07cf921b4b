// The SQLite store's background thread, with connections of its own:
// - the checkpointer: copies committed WAL frames into the database file, so that no request
//   waits for a checkpoint. The writer turns its automatic checkpoints off while this runs
//   (dialect/sqlite-background-worker.ts). PASSIVE never blocks the writer or readers; with synchronous=FULL this
//   connection syncs the WAL before copying and the database file after, as an automatic
//   checkpoint would.
// - the log file's writer (sqlite-log-file.mjs): the appender's batches and retention's deletes,
//   so that inserting a read's row never runs on the event loop. Each request is answered
//   `{ id, value }` or `{ id, error }` once it has committed.
import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'
import { logFileWriter, openLogFile } from './sqlite-log-file.mjs'

const { path, logPath, busyTimeoutMs, intervalMs } = workerData
const db = new BetterSqlite3(path, { fileMustExist: true })
db.pragma('busy_timeout = 1000')
db.pragma('synchronous = FULL')
const logDb = openLogFile(logPath, busyTimeoutMs)
const log = logFileWriter(logDb)

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
    logDb.close()
    parentPort.postMessage('stopped')
    return
  }
  if (m.op === 'prune') {
    try {
      parentPort.postMessage({ id: m.id, value: log.prune(m.orgId, m.beforeId, m.limit) })
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: errorOf(e) })
    }
    return
  }
  // An append arrives in parts of a few hundred rows, each inserted as it comes (its objects die
  // young: with a whole batch in one message the server's resident memory after 60,000 GETs
  // measured ~10 MiB more), in one transaction that its last part commits. The parts of one
  // batch are posted together, so nothing comes between.
  if (batch?.id !== m.id) {
    batch = { id: m.id, error: null }
    step(() => log.begin())
  }
  step(() => log.insert(m.rows))
  if (m.last) {
    step(() => log.commit())
    parentPort.postMessage(batch.error ? { id: m.id, error: batch.error } : { id: m.id })
    batch = null
  }
})

/** The append under way: its id, and the first error (after which its parts are skipped). */
let batch = null

function step(fn) {
  if (batch.error) return
  try {
    fn()
  } catch (e) {
    batch.error = errorOf(e)
    log.rollback()
  }
}

function errorOf(e) {
  return { message: e instanceof Error ? e.message : String(e), code: e?.code }
}

parentPort.postMessage('ready')
