#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `roster` command: runs the TypeScript sources through tsx.
// --max-semi-space-size=4: a request allocates many small short-lived objects; V8's default
// 16 MiB semi-spaces cost about 40 MiB of resident memory with no measured gain in throughput
// (bench/RESULTS.md). `npm start` and the benchmark's --spawn pass the same flag.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
