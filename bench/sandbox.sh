#!/usr/bin/env bash
# Benchmark of README command 1 on the sandbox: how long `./scripts/dev.sh --sandbox` takes
# until the backend and the frontend answer, then how long stores take from the REST request
# to Ready (every gate, helm really installing the chart, the health check through the API
# server) and from the delete request to gone. Prints figures; asserts nothing.
#
#   flock /tmp/storeplane-heavy.lock ./bench/sandbox.sh        (STORES=3 to change)
#
# Uses ports 3000 and 7007 like dev.sh. A first run includes building the sandbox (see
# scripts/ensure-test-cluster.sh) and the frontend's first compile.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/processes.sh

stores=${STORES:-3}
backend=http://localhost:7007
log=$(mktemp "${TMPDIR:-/tmp}/storeplane-bench-sandbox.XXXXXX")
require_free_ports 3000 7007

dev_pgid=""
cleanup() {
  local rc=$?
  trap - EXIT
  [ -z "$dev_pgid" ] || STOP_WAIT_SECONDS=60 stop_group "$dev_pgid" "./scripts/dev.sh" leader-only
  [ "$rc" -eq 0 ] && rm -f "$log" || echo "bench/sandbox.sh: dev.sh log kept at $log" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { date +%s%3N; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

t0=$(now_ms)
setsid ./scripts/dev.sh --sandbox >"$log" 2>&1 </dev/null &
dev_pgid=$!
backend_ms="" frontend_ms=""
until [ -n "$backend_ms" ] && [ -n "$frontend_ms" ]; do
  kill -0 "$dev_pgid" 2>/dev/null || { tail -n 20 "$log" >&2; exit 1; }
  [ -n "$backend_ms" ] || [ "$(http_status "$backend/.backstage/health/v1/readiness")" != 200 ] || backend_ms=$(($(now_ms) - t0))
  [ -n "$frontend_ms" ] || [ "$(http_status http://localhost:3000)" != 200 ] || frontend_ms=$(($(now_ms) - t0))
  sleep 0.2
done
cluster_s=$(sed -n 's/.*sandbox cluster up in \([0-9]*\) s.*/\1/p' "$log")

token=$(curl -s "$backend/api/auth/guest/refresh?env=development" -H 'X-Requested-With: XMLHttpRequest' \
  | json 'd["backstageIdentity"]["token"]')
api() { curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
status_of() { api "$backend/api/stores/stores/$1" | json 'd.get("status", "gone")' 2>/dev/null || echo gone; }

echo "dev.sh --sandbox: sandbox cluster up after ${cluster_s} s, backend ready after $((backend_ms / 1000)).$((backend_ms % 1000 / 100)) s, frontend after $((frontend_ms / 1000)).$((frontend_ms % 1000 / 100)) s"
for i in $(seq 1 "$stores"); do
  t=$(now_ms)
  id=$(api -X POST "$backend/api/stores/stores" -d "{\"name\":\"bench-$i\",\"owner\":\"group:default/shop-team\",\"plan\":\"small\"}" | json 'd["id"]')
  while [ "$(status_of "$id")" = Provisioning ]; do sleep 0.2; done
  ready_ms=$(($(now_ms) - t))
  state=$(status_of "$id")
  t=$(now_ms)
  api -X DELETE "$backend/api/stores/stores/$id" >/dev/null
  while [ "$(status_of "$id")" != gone ]; do sleep 0.2; done
  echo "store $i: $state after $((ready_ms / 1000)).$((ready_ms % 1000 / 100)) s, deleted after $((($(now_ms) - t) / 1000)) s"
done
