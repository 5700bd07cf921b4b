// Makes the writer's commits durable off the event loop. The writer commits with
// synchronous=NORMAL: in WAL mode COMMIT then appends the transaction's frames to the WAL file
// and returns without an fsync ("PRAGMA synchronous", sqlite.org/pragma.html#pragma_synchronous).
// This module fsyncs that file on libuv's thread pool, and a commit counts as durable once an
// fsync that began after its COMMIT returned has completed: everything COMMIT wrote is then on
// stable storage, the same guarantee synchronous=FULL gives, without blocking the event loop for
// the disk. WAL recovery replays only whole transactions whose frames and checksums are intact
// (sqlite.org/wal.html, "How WAL Works"; sqlite.org/fileformat2.html#walformat), so whatever a
// crash leaves, the database opens as a prefix of the committed transactions that contains every
// durable one.
//
// While one fsync is on its way to the disk, commits that follow wait for the next one: one fsync
// serves every commit made meanwhile.
import { closeSync, fstatSync, fsync, fsyncSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { StoreUnavailable } from '../store.ts'

/** fs.fsync's shape: tests pass one that holds the disk's answer back, or fails. */
export type SyncFile = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void

interface Waiter {
  readonly commit: number
  readonly resolve: () => void
  readonly reject: (e: unknown) => void
}

export class WalSync {
  readonly #walPath: string
  #fd: number | null = null
  /** Commits made, and the last of them known durable. */
  #committed = 0
  #durable = 0
  #inFlight: Promise<void> | null = null
  #waiters: Waiter[] = []
  #closed = false

  readonly #syncFile: SyncFile

  constructor(dbPath: string, syncFile: SyncFile = fsync) {
    this.#walPath = `${dbPath}-wal`
    this.#syncFile = syncFile
  }

  /** True while an fsync is on its way to the disk. */
  get busy(): boolean {
    return this.#inFlight !== null
  }

  /** Resolves when the fsync in flight (if any) has completed, however it ended. */
  idle(): Promise<void> {
    return this.#inFlight ?? Promise.resolve()
  }

  /** Call right after COMMIT returned: resolves once that commit is on stable storage. */
  committed(): Promise<void> {
    const commit = ++this.#committed
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ commit, resolve, reject }))
    this.#start()
    return p
  }

  /**
   * What a reader waits for before it answers: every commit made so far durable, so that no
   * answer, webhook or email shows a change a crash could still take back. Null when nothing
   * is waiting for the disk (the usual case when nobody writes).
   */
  durable(): Promise<void> | null {
    if (this.#durable === this.#committed) return null
    const commit = this.#committed
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ commit, resolve, reject }))
    // After a failed fsync nothing is in flight: this reader asks for the next one.
    this.#start()
    return p
  }

  /** Waits for the commits made so far to be durable, then closes the WAL file. */
  async close(): Promise<void> {
    await (this.durable() ?? Promise.resolve()).catch(() => {})
    this.#closed = true
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = null
  }

  #start(): void {
    if (this.#inFlight !== null || this.#durable === this.#committed) return
    const upTo = this.#committed
    let failed = false
    this.#inFlight = new Promise<void>((done) => {
      let fd: number
      try {
        fd = this.#file()
      } catch (e) {
        failed = true
        this.#settle(upTo, e)
        done()
        return
      }
      this.#syncFile(fd, (err) => {
        failed = err !== null
        this.#settle(upTo, err)
        done()
      })
    }).finally(() => {
      this.#inFlight = null
      // Commits made while this fsync was on its way get the next one. After a failure nothing
      // retries by itself (a disk that keeps failing would be asked in a loop): the next commit,
      // or the next reader that waits, asks again.
      if (!failed) this.#start()
    })
  }

  #settle(upTo: number, err: unknown): void {
    const due = this.#waiters.filter((w) => w.commit <= upTo)
    this.#waiters = this.#waiters.filter((w) => w.commit > upTo)
    if (err) {
      // The disk refused: those commits are in the WAL but may not be durable. Their requests
      // are answered 503; an fsync that succeeds later covers them again.
      const e = new StoreUnavailable('the database could not be synced to disk', { cause: err })
      for (const w of due) w.reject(e)
      return
    }
    this.#durable = Math.max(this.#durable, upTo)
    for (const w of due) w.resolve()
  }

  /** The WAL file, opened once (and again if it was replaced: a restore, say). */
  #file(): number {
    if (this.#closed) throw new Error('the store is closed')
    if (this.#fd !== null && fstatSync(this.#fd).ino === statSync(this.#walPath).ino) return this.#fd
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = openSync(this.#walPath, 'r')
    // The WAL's directory entry must survive a crash too (it is created once, when the database
    // is first opened in WAL mode).
    const dir = openSync(dirname(this.#walPath), 'r')
    try {
      fsyncSync(dir)
    } finally {
      closeSync(dir)
    }
    return this.#fd
  }
}
