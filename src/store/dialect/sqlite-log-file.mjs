// The SQLite store's log file: a second database beside the main one (`roster.db` →
// `roster-log.db`) holding the provisioning-log rows of requests that changed nothing (reads,
// failures, refused tokens), which the batched appender writes (docs/provisioning-log.md,
// docs/storage.md). A row of a successful write stays in the main file, committed with its
// change. The background worker (sqlite-worker.mjs) writes this file on its own thread and
// connection, so a read's row costs the event loop only its hand-over, never the insert, and
// the main file's writer lock, data version and page caches never see it. Without the worker
// (the CLI) the main thread writes it through the same functions.
//
// Its table has the main file's provisioning_log columns and indexes (migration 0004), with the
// ids (org_id, id, and resource_id where it is a canonical UUID) kept as 16-byte keys: a read's
// row lands next to its resource's earlier rows in (org_id, resource_id, id), a random place in
// that index, and the shorter keys halve its pages (11 → 6.4 µs an insert, docs/storage.md).
// A resource id that is not a canonical UUID (a 404 for `/Users/whatever`) stays text (a blob
// column converts nothing).
// Plain JavaScript: a worker's entry and what it imports must be.
import { Buffer } from 'node:buffer'
import BetterSqlite3 from 'better-sqlite3'

/** The schema's version, in PRAGMA user_version: 2 added provisioning_log_idp. */
export const LOG_FILE_VERSION = 2

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The log file of the database at `path`: `data/roster.db` → `data/roster-log.db`. */
export function logFilePath(path) {
  const m = /^(.*?)(\.[^./\\]*)?$/.exec(path)
  return `${m[1]}-log${m[2] ?? '.db'}`
}

/** An id as this file keeps it: a canonical UUID as its 16 bytes, anything else as given. */
export function logKey(id) {
  return typeof id === 'string' && UUID.test(id) ? Buffer.from(id.replaceAll('-', ''), 'hex') : id
}

/** The text of a kept id. */
export function logText(v) {
  if (!(v instanceof Uint8Array) || v.length !== 16) return v
  let h = ''
  for (let i = 0; i < 16; i++) h += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[v[i]]
  return h
}

// Planner statistics, as migration 0004 gives the main file's table: without them SQLite may
// answer a resource's or a status's rows from the primary key and filter, instead of their index.
const STATS = [
  ['provisioning_log', 'sqlite_autoindex_provisioning_log_1', '10000000 100000 1'],
  ['provisioning_log', 'provisioning_log_resource', '5000000 50000 10 1'],
  ['provisioning_log', 'provisioning_log_failed', '100000 1000 500 1'],
]
// Version 2: the identity-provider filter's index, as migration 0014 gives the main file's table.
const IDP_INDEX = 'create index if not exists provisioning_log_idp on provisioning_log (org_id, identity_provider, id)'
const IDP_STATS = ['provisioning_log', 'provisioning_log_idp', '10000000 100000 20000 1']

function ensureSchema(db) {
  if (db.pragma('user_version', { simple: true }) >= LOG_FILE_VERSION) return
  // Several processes may open a new file at once: the first creates it, the others wait
  // (busy_timeout) and find it made.
  db.exec('BEGIN IMMEDIATE')
  try {
    const version = db.pragma('user_version', { simple: true })
    if (version < 1) {
      db.exec(`create table provisioning_log (
        org_id blob not null, id blob not null, at text not null, request_id text not null,
        identity_provider text not null, method text not null, path text not null, resource_type text,
        resource_id blob, status integer not null, scim_type text, detail text, duration_us integer not null,
        changes text, notes text, primary key (org_id, id)) without rowid`)
      db.exec('create index provisioning_log_resource on provisioning_log (org_id, resource_id, id) where resource_id is not null')
      db.exec('create index provisioning_log_failed on provisioning_log (org_id, (status / 100), id) where status >= 400')
      db.exec('analyze')
      const stat = db.prepare('insert into sqlite_stat1 (tbl, idx, stat) values (?, ?, ?)')
      for (const s of STATS) stat.run(s)
    }
    if (version < 2) {
      // An existing file's rows are indexed here, once, under the write lock taken above.
      db.exec(IDP_INDEX)
      db.exec('analyze sqlite_schema')
      db.prepare("delete from sqlite_stat1 where idx = 'provisioning_log_idp'").run()
      db.prepare('insert into sqlite_stat1 (tbl, idx, stat) values (?, ?, ?)').run(IDP_STATS)
    }
    if (version < LOG_FILE_VERSION) {
      db.exec('analyze sqlite_schema')
      db.pragma(`user_version = ${LOG_FILE_VERSION}`)
    }
    db.exec('COMMIT')
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK')
    throw e
  }
}

/**
 * Opens the log file (creating its table). Rows here are not durable with their answer
 * (docs/provisioning-log.md), so synchronous=NORMAL: in WAL mode a commit survives a crash of
 * the process, and a power failure may take the last ones.
 */
export function openLogFile(path, busyTimeoutMs) {
  const db = new BetterSqlite3(path)
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    // A small page cache: at SQLite's default (2 MB) the server's resident memory grew by
    // ~18 MiB under steady reads; at 512 KiB an insert measured 8 instead of 7 µs.
    db.pragma('cache_size = -512')
    ensureSchema(db)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}

const COLUMNS = 'org_id, id, at, request_id, identity_provider, method, path, resource_type, resource_id, status, scim_type, detail, duration_us, changes, notes'
/** The file's two writes (exported for a store's statement observer, kysely/observed.ts). */
export const LOG_FILE_INSERT = `insert into provisioning_log (${COLUMNS}) values (${COLUMNS.split(',').map(() => '?').join(', ')})`
export const LOG_FILE_PRUNE = 'delete from provisioning_log where org_id = ? and id in (select id from provisioning_log where org_id = ? and id < ? order by id limit ?)'

/**
 * Writing to an open log file. A row is the main file's insert arguments (kysely/log-sql.ts
 * logArgs): org_id, id and resource_id at 0, 1 and 8.
 */
export function logFileWriter(db) {
  const insert = db.prepare(LOG_FILE_INSERT)
  const prune = db.prepare(LOG_FILE_PRUNE)
  const insertAll = (rows) => {
    for (const r of rows) {
      const args = r.slice()
      args[0] = logKey(r[0])
      args[1] = logKey(r[1])
      args[8] = logKey(r[8])
      insert.run(args)
    }
  }
  const append = db.transaction(insertAll)
  return {
    /** Inserts the rows in one transaction. */
    append: (rows) => void append.immediate(rows),
    /** A transaction written in parts: begin(), insert(rows)..., then commit() or rollback(). */
    begin: () => void db.exec('BEGIN IMMEDIATE'),
    insert: insertAll,
    commit: () => void db.exec('COMMIT'),
    rollback: () => void (db.inTransaction && db.exec('ROLLBACK')),
    /** Deletes up to `limit` of the organization's rows older than `beforeId`, oldest first. */
    prune: (orgId, beforeId, limit) => prune.run(logKey(orgId), logKey(orgId), logKey(beforeId), limit).changes,
  }
}
