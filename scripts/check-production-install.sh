#!/usr/bin/env bash
# The image's steps in full, outside a container: `npm ci --omit=dev` (which compiles the
# native SQLite module when no prebuilt one can be fetched, about a minute) into a fresh copy of
# this checkout, made read-only, then the server started from it as `nobody` (when run as root)
# with only a data folder writable, an organization created and a user provisioned over SCIM.
# test/e2e/production-install.test.ts does the same in seconds with the native module copied.
#   bash scripts/check-production-install.sh       (exits 0 when every step passed)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$(mktemp -d)"; chmod 755 "$root"
app="$root/app"; data="$root/data"; mkdir -p "$app" "$data"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; chmod -R u+w "$root"; rm -rf "$root"; }
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "copy the checkout to $app"
(cd "$repo" && git ls-files -co --exclude-standard -z | grep -zv '^node_modules' | xargs -0 cp --parents -t "$app" 2>/dev/null || true)
step "npm ci --omit=dev (builds the server through the prepare script)"
(cd "$app" && npm ci --omit=dev --prefer-offline --no-audit --no-fund >&2)
test -f "$app/dist/roster.mjs"
chmod -R a-w "$app"
as=()
if [ "$(id -u)" = 0 ]; then chown nobody "$data"; as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --); fi
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export ROSTER_DATABASE_URL="sqlite:$data/roster.db" PORT="$port" HOST=127.0.0.1 HOME="$data" LOG_LEVEL=warn
step "serve on port $port as $([ ${#as[@]} -gt 0 ] && echo nobody || id -un)"
(cd "$data" && exec "${as[@]}" node "$app/bin/roster.js" serve) & pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$(cd "$data" && "${as[@]}" node "$app/bin/roster.js" org create "Install Check" --json | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/scim/v2/Users" \
  -H "authorization: Bearer $token" -H 'content-type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@install.test"}')
[ "$status" = 201 ] || { echo "POST /Users answered $status" >&2; exit 1; }
kill -TERM "$pid"; wait "$pid"; pid=
step "ok: installed, read-only, served and provisioned"
