#!/usr/bin/env bash
# Browser end-to-end check: starts the app the way `yarn dev` does (backend :7007,
# frontend :3000, embedded defaults, guest sign-in), waits until both answer, runs
# e2e/app.e2e.js (playwright-core + Debian chromium) and always stops the app again.
#
#   ./scripts/e2e.sh
#
# Environment:
#   E2E_START_TIMEOUT  seconds to wait for the app to come up (default 240)
#   E2E_KEEP_LOG=1     keep the app log even when the check passes
#   CHROMIUM_PATH      browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

start_timeout=${E2E_START_TIMEOUT:-240}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
backend_ready=http://localhost:7007/.backstage/health/v1/readiness
frontend_url=http://localhost:3000

log() { echo "e2e.sh: $*" >&2; }

# --- browser ---------------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$CHROMIUM_PATH" = /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "$CHROMIUM_PATH missing; installing Debian package chromium"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    log "ERROR: $CHROMIUM_PATH not found. Install it (as root: apt-get install chromium) or set CHROMIUM_PATH."
    exit 1
  fi
fi

# --- ports must be free ----------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || (exec 3<>"/dev/tcp/::1/$1") 2>/dev/null; }
for port in 3000 7007; do
  if port_in_use "$port"; then
    log "ERROR: port $port is already in use (another \`yarn dev\`?). Stop it and re-run."
    command -v ss >/dev/null && ss -ltnp "sport = :$port" >&2 || true
    exit 1
  fi
done

# --- start the app in its own process group ---------------------------------
app_log=$(mktemp "${TMPDIR:-/tmp}/storeplane-e2e-app.XXXXXX.log")
app_pgid=""
stop_app() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ -s "$app_log" ]; then
    # Before stopping, so the tail shows the failure rather than shutdown noise.
    log "app log (last 40 lines, full log kept at $app_log):"
    tail -n 40 "$app_log" | sed -e 's/\x1b\[[0-9;]*m//g' | cut -c1-400 >&2 || true
  fi
  if [ -n "$app_pgid" ] && kill -0 -- "-$app_pgid" 2>/dev/null; then
    log "stopping app (process group $app_pgid)"
    kill -TERM -- "-$app_pgid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 -- "-$app_pgid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$app_pgid" 2>/dev/null || true
  fi
  if [ "$rc" -eq 0 ] && [ "${E2E_KEEP_LOG:-}" != 1 ]; then
    rm -f "$app_log"
  fi
  exit "$rc"
}
trap stop_app EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
log "starting the app (./scripts/yarn.sh dev), log: $app_log"
# setsid makes the child the leader of a new session + process group (pgid = its pid),
# so the whole tree (yarn, backstage-cli, backend, dev server) can be killed at once.
setsid ./scripts/yarn.sh dev >"$app_log" 2>&1 </dev/null &
app_pgid=$!

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }

deadline=$((t0 + start_timeout))
backend_up="" frontend_up=""
while :; do
  if ! kill -0 "$app_pgid" 2>/dev/null; then
    log "ERROR: the app exited before becoming ready"
    exit 1
  fi
  [ -n "$backend_up" ] || { [ "$(http_status "$backend_ready")" = 200 ] && backend_up=$(($(date +%s) - t0)) && log "backend ready after ${backend_up}s"; } || true
  [ -n "$frontend_up" ] || { [ "$(http_status "$frontend_url")" = 200 ] && frontend_up=$(($(date +%s) - t0)) && log "frontend ready after ${frontend_up}s"; } || true
  [ -n "$backend_up" ] && [ -n "$frontend_up" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "ERROR: app not ready within ${start_timeout}s (backend: ${backend_up:-no}, frontend: ${frontend_up:-no})"
    exit 1
  fi
  sleep 2
done

# --- browser check ----------------------------------------------------------
t1=$(date +%s)
set +e
./scripts/node.sh node e2e/app.e2e.js
rc=$?
set -e
log "startup $((t1 - t0))s, browser check $(($(date +%s) - t1))s, total $(($(date +%s) - t0))s"
exit "$rc"
