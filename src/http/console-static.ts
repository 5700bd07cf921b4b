// The admin console's built pages under /console (docs/console.md): index.html and the assets
// Vite wrote to console/dist at `npm install` (never at server start). The console is a single
// page whose routes live in the URL's fragment (#/users), so the server serves files only.
// Headers: a Content-Security-Policy that lets the page load nothing but this server's files and
// call nothing but /api/v1, no framing (clickjacking), no MIME sniffing, no referrer.
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

function secure(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
}

export function registerConsoleStatic(app: FastifyInstance, dir: string): void {
  const root = normalize(dir)
  const serve = async (file: string, reply: FastifyReply) => {
    const path = normalize(join(root, file))
    if (path !== root && !path.startsWith(root + sep)) return secure(reply).code(404).type('text/plain').send('Not found')
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a file')
    } catch {
      if (file === 'index.html') {
        return secure(reply).code(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm install` (or `npm run build:console`) and restart.')
      }
      return secure(reply).code(404).type('text/plain').send('Not found')
    }
    const body = await readFile(path)
    // Vite names assets by their content hash: they never change under one name.
    const cache = file.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    return secure(reply).header('cache-control', cache).type(TYPES[extname(path)] ?? 'application/octet-stream').send(body)
  }
  // The router ignores a trailing slash: /console and /console/ are this one route.
  app.get('/console', async (_request, reply) => serve('index.html', reply))
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => serve(request.params['*'] || 'index.html', reply))
}
