#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=30
// Entry point of the `roster` command: runs the server's bundle, built once by `npm run build`
// (and by `npm install`, the `prepare` script) into dist/ (scripts/build.mjs). It never writes
// into its own folder, so an install may be read-only. When src/ is newer than dist/ (a
// developer edited it), the bundle is built afresh into a cache folder outside the code
// (ROSTER_BUILD_DIR, or roster-build-UID-HASH in the system's temporary folder) and run from
// there, so that what runs is always what src/ says. An installed package (npm install roster)
// holds the bundle and not the sources: it runs the bundle.
// V8 flags (bench/RESULTS.md has the measurements): a request allocates many small,
// short-lived objects while little stays live, and V8's defaults let the old generation grow
// to several times the live data before a full collection. --heap-growing-percent=30 grows it
// by 30 % instead (the server peaked at 165 MiB instead of about 230 MiB, at the same
// throughput); --max-semi-space-size=8 halves the young generation. Neither caps the heap, so a
// large response cannot make the process run out of memory. `npm start` and the benchmark's
// --spawn pass the same flags.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BUNDLE, ROOT, build, newestSource } from '../scripts/build.mjs'

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs
  } catch {
    return -1
  }
}

/** A folder of this user's own, outside the code, for a bundle built at start. */
function cacheDir() {
  if (process.env.ROSTER_BUILD_DIR) return process.env.ROSTER_BUILD_DIR
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user'
  const dir = join(tmpdir(), `roster-build-${uid}-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const s = statSync(dir)
  // Another user's folder, or one others may write, could hold code of theirs: never run it.
  if (typeof process.getuid === 'function' && (s.uid !== process.getuid() || (s.mode & 0o022) !== 0)) {
    throw new Error(`${dir} belongs to another user or is writable by others: set ROSTER_BUILD_DIR to a folder of your own, or run npm run build`)
  }
  // The bundle's packages are found from its folder: the code's own node_modules.
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  } catch (e) {
    if (e.code !== 'EEXIST') throw e
  }
  return dir
}

async function bundle() {
  const dist = join(ROOT, 'dist', BUNDLE)
  // An installed package ships the bundle without the server's sources (package.json "files"):
  // it runs as built. Comparing times there would mislead: npm gives extracted files the time of
  // their extraction, so a file extracted after the bundle would look newer than it.
  if (!existsSync(join(ROOT, 'src', 'cli', 'main.ts'))) return dist
  const sources = newestSource()
  if (mtime(dist) >= sources) return dist
  const dir = cacheDir()
  const cached = join(dir, BUNDLE)
  if (mtime(cached) >= sources) return cached
  return build(dir)
}

await import(pathToFileURL(await bundle()).href)
