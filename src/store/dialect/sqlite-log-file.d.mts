// Types of sqlite-log-file.mjs (plain JavaScript, so a worker can load it).
import type BetterSqlite3 from 'better-sqlite3'

export declare const LOG_FILE_VERSION: number
export declare const LOG_FILE_INSERT: string
export declare const LOG_FILE_PRUNE: string
export declare function logFilePath(path: string): string
export declare function logKey(id: unknown): unknown
export declare function logText(v: unknown): unknown
export declare function openLogFile(path: string, busyTimeoutMs: number): BetterSqlite3.Database
export interface LogFileWriter {
  append(rows: readonly (readonly unknown[])[]): void
  begin(): void
  insert(rows: readonly (readonly unknown[])[]): void
  commit(): void
  rollback(): void
  prune(orgId: string, beforeId: string, limit: number): number
}
export declare function logFileWriter(db: BetterSqlite3.Database): LogFileWriter
