// Entry of a SQLite read worker thread: loads TypeScript through tsx (a Worker's entry file
// must be JavaScript), then runs sqlite-read-worker-main.ts.
import { register } from 'tsx/esm/api'

register()
await import('./sqlite-read-worker-main.ts')
