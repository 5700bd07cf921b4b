// Builds the admin console (console/, React with Vite) into console/dist, which the server serves
// at /console. Vite is a development dependency: a production install (`npm ci --omit=dev`) has
// none, and there the console built beforehand (the Dockerfile's build stage) is kept, with a
// notice instead of a failure. Any other failure of the build fails it.
//
//   node scripts/build-console.mjs
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
if (!existsSync(vite)) {
  const built = existsSync(join(root, 'console', 'dist', 'index.html'))
  console.warn(`vite is not installed (a production install): the console is ${built ? 'kept as built' : 'not built, and /console answers 404'}`)
  process.exit(0)
}
const r = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'console', 'vite.config.ts'), '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
