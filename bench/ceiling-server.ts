// Ceiling fixture: a bare node:http server answering every request with the same ~300-byte
// SCIM JSON document. Run as a child process by ceiling.ts; prints its port on stdout.
import http from 'node:http'

const DOCUMENT = Buffer.from(
  JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: '2819c223-7f76-453a-919d-413861904646',
    userName: 'ceiling.user@example.com',
    name: { givenName: 'Ceiling', familyName: 'User' },
    active: true,
    emails: [{ value: 'ceiling.user@example.com', type: 'work', primary: true }],
    meta: { resourceType: 'User', version: 'W/"1"', created: '2024-01-01T00:00:00.000Z' },
  }),
)

const server = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/scim+json', 'content-length': DOCUMENT.length })
    res.end(DOCUMENT)
  })
})
server.keepAliveTimeout = 60_000

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address !== null && typeof address === 'object') process.stdout.write(`${address.port}\n`)
})

process.on('SIGTERM', () => process.exit(0))
// Exit with the parent: it holds our stdin open and closes it when it goes away.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
