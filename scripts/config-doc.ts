// Writes docs/configuration.md from src/config-vars.ts: `npm run docs:config`.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configurationDoc } from '../src/config-vars.ts'

writeFileSync(join(import.meta.dirname, '../docs/configuration.md'), configurationDoc())
