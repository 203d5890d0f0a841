#!/usr/bin/env bash
# Browser end-to-end check of README command 1: runs `./scripts/dev.sh --sandbox` (the app on
# :3000/:7007 with stores on the local sandbox cluster), waits until both answer, runs
# e2e/app.e2e.js (playwright-core + Debian chromium) and always stops the app and the
# sandbox again.
#
#   ./scripts/e2e.sh
#
# The browser creates a store through the template (its description prefilled by "Suggest
# from the store name"), waits for it to be Ready with every gate passed, asks for content
# suggestions on its Store tab, opens its storefront and its Kubernetes tab, renames it, sees its
# upgrade refused (the backend ships the chart it runs), then restarts only the backend with a
# copy of the chart whose version is bumped (made in the temp dir) and upgrades the store for
# real: Updating, Ready on the new chart, the Helm upgrade in its activity (e2e/upgrade.js).
# It backs the store up ("Back up now", the backup Succeeded with a size), downloads the backup
# (the browser saves a .sql.gz that gunzips to the sandbox MariaDB's dump of the store's database,
# its marker row included), changes that row, and restores the backup after confirming: Restoring,
# Ready, restore.succeeded in the activity, the row as dumped again (e2e/backups.js).
# Then it deletes the store.
# With polling off, a second store walks its gates on an open Store tab and turns Degraded and Ready again when
# its pod crashes and recovers (e2e/liveStatus.js, which prints the latencies). The first store's
# Quota and cost card must show its namespace quota as the sandbox's API server reports it and the
# plan's monthly estimate at e2e/app-config.e2e.yaml's prices, and the Stores page that estimate
# and the owner's total over its stores (e2e/cost.js). Where the sandbox
# cannot start (no Go toolchain and no earlier build) the app runs with `--no-sandbox` and
# those steps print `# SKIP`.
#
# Environment:
#   E2E_START_TIMEOUT    seconds to wait for the app to come up (default 240)
#   E2E_BUILD_TIMEOUT    seconds a first build of the sandbox may take (default 1800)
#   E2E_NO_CLUSTER=1     run with --no-sandbox (the store lifecycle steps are skipped)
#   E2E_KEEP_LOG=1       keep the app log even when the check passes
#   CHROMIUM_PATH        browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/processes.sh

start_timeout=${E2E_START_TIMEOUT:-240}
build_timeout=${E2E_BUILD_TIMEOUT:-1800}
t_start=$(date +%s)
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

require_free_ports 3000 7007

# --- sandbox or not --------------------------------------------------------------
export E2E_CLUSTER=0 E2E_CLUSTER_REASON=""
if [ "${E2E_NO_CLUSTER:-}" = 1 ]; then
  E2E_CLUSTER_REASON="E2E_NO_CLUSTER=1"
elif ./scripts/ensure-test-cluster.sh --cached-only >/dev/null && ./scripts/ensure-helm.sh --cached-only >/dev/null; then
  E2E_CLUSTER=1
elif command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then
  log "building the sandbox first (up to ${build_timeout}s)"
  timeout "$build_timeout" ./scripts/ensure-test-cluster.sh >/dev/null
  timeout "$build_timeout" ./scripts/ensure-helm.sh >/dev/null
  E2E_CLUSTER=1
else
  E2E_CLUSTER_REASON="no Go toolchain to build the sandbox and no earlier build of it"
fi
if [ "$E2E_CLUSTER" = 1 ]; then dev_mode=--sandbox; else
  dev_mode=--no-sandbox
  log "# SKIP store lifecycle steps: no sandbox ($E2E_CLUSTER_REASON)"
fi

# --- the app, exactly as README command 1 runs it ------------------------------------
tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/storeplane-e2e.XXXXXX")
app_log=$tmp_dir/app.log
app_pgid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ -s "$app_log" ]; then
    # Before stopping, so the tail shows the failure rather than shutdown noise.
    log "app log (last 40 lines, full log kept at $app_log):"
    tail -n 40 "$app_log" | sed -e 's/\x1b\[[0-9;]*m//g' | cut -c1-400 >&2 || true
  fi
  # dev.sh stops the app and the sandbox it started when it gets TERM (each within 20 s).
  [ -z "$app_pgid" ] || STOP_WAIT_SECONDS=60 stop_group "$app_pgid" "./scripts/dev.sh" leader-only
  if [ "$rc" -eq 0 ] && [ "${E2E_KEEP_LOG:-}" != 1 ]; then
    rm -rf "$tmp_dir"
  else
    log "logs kept in $tmp_dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The chart a newer Storeplane would ship (its minor version bumped), for e2e/upgrade.js: it
# writes E2E_UPGRADE_CONFIG to point storeplane.helm.chart.path there and restarts the backend.
# Both live in $tmp_dir, never in the work tree.
chart=plugins/stores-backend/charts/woocommerce-store
export E2E_UPGRADE_CHART=$tmp_dir/newer-chart/woocommerce-store E2E_UPGRADE_CONFIG=$tmp_dir/app-config.upgrade.yaml
mkdir -p "$(dirname "$E2E_UPGRADE_CHART")"
cp -R "$chart" "$E2E_UPGRADE_CHART"
awk -F. '/^version: / { sub(/^version: /, "", $1); $0 = "version: " $1 "." ($2 + 1) ".0" } { print }' \
  "$chart/Chart.yaml" >"$E2E_UPGRADE_CHART/Chart.yaml"
echo '{}' >"$E2E_UPGRADE_CONFIG"

t0=$(date +%s)
log "starting ./scripts/dev.sh $dev_mode, log: $app_log"
# e2e/app-config.e2e.yaml: no polling (pages update from signals alone) and a short check
# interval of Ready stores, for the live-status steps.
setsid ./scripts/dev.sh "$dev_mode" -- --config e2e/app-config.e2e.yaml --config "$E2E_UPGRADE_CONFIG" \
  >"$app_log" 2>&1 </dev/null &
app_pgid=$!

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }

deadline=$((t0 + start_timeout))
backend_up="" frontend_up=""
while :; do
  if ! kill -0 "$app_pgid" 2>/dev/null; then
    log "ERROR: ./scripts/dev.sh exited before the app was ready"
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
log "app startup (with the sandbox) $((t1 - t0))s, browser check $(($(date +%s) - t1))s, total $(($(date +%s) - t_start))s"
exit "$rc"
