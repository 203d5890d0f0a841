#!/usr/bin/env bash
# Browser end-to-end check: starts a test Kubernetes control plane (when the machine can:
# Go >= 1.24, see packages/test-cluster), starts the app the way `yarn dev` does (backend
# :7007, frontend :3000, embedded defaults, guest sign-in) with extra config pointing
# Storeplane at that cluster, waits until both answer, runs e2e/app.e2e.js (playwright-core
# + Debian chromium) and always stops the app and the cluster again.
#
#   ./scripts/e2e.sh
#
# With the cluster the browser creates a store through the template, waits for it to be
# Ready, checks its Store tab and deletes it again. Without one those steps print
# `# SKIP` and the rest still runs.
#
# Environment:
#   E2E_START_TIMEOUT    seconds to wait for the app to come up (default 240)
#   E2E_CLUSTER_TIMEOUT  seconds to wait for the test cluster (default 600; a cold start
#                        builds it from Go modules first)
#   E2E_NO_CLUSTER=1     do not start the test cluster (its steps are skipped)
#   E2E_KEEP_LOG=1       keep the app log even when the check passes
#   CHROMIUM_PATH        browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

start_timeout=${E2E_START_TIMEOUT:-240}
cluster_timeout=${E2E_CLUSTER_TIMEOUT:-600}
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

# --- ports must be free ----------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || (exec 3<>"/dev/tcp/::1/$1") 2>/dev/null; }
for port in 3000 7007; do
  if port_in_use "$port"; then
    log "ERROR: port $port is already in use (another \`yarn dev\`?). Stop it and re-run."
    command -v ss >/dev/null && ss -ltnp "sport = :$port" >&2 || true
    exit 1
  fi
done

# --- cleanup of everything started below ------------------------------------
tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/storeplane-e2e.XXXXXX")
app_log=$tmp_dir/app.log
cluster_log=$tmp_dir/cluster.log
app_pgid=""
cluster_pid=""
stop_group() { # <pgid> <what> [leader-only]
  local pgid=$1
  kill -0 -- "-$pgid" 2>/dev/null || return 0
  log "stopping $2 (process group $pgid)"
  if [ -n "${3:-}" ]; then
    kill -TERM "$pgid" 2>/dev/null || true
  else
    kill -TERM -- "-$pgid" 2>/dev/null || true
  fi
  for _ in $(seq 1 40); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ -s "$app_log" ]; then
    # Before stopping, so the tail shows the failure rather than shutdown noise.
    log "app log (last 40 lines, full log kept at $app_log):"
    tail -n 40 "$app_log" | sed -e 's/\x1b\[[0-9;]*m//g' | cut -c1-400 >&2 || true
  fi
  [ -z "$app_pgid" ] || stop_group "$app_pgid" app
  # The cluster helper stops the control plane (its children) itself on TERM, so only
  # it gets the TERM; the group gets the KILL fallback.
  [ -z "$cluster_pid" ] || stop_group "$cluster_pid" "test cluster" leader-only
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

# --- test cluster (optional) ----------------------------------------------------
extra_config=()
export E2E_CLUSTER=0 E2E_CLUSTER_REASON=""
if [ "${E2E_NO_CLUSTER:-}" = 1 ]; then
  E2E_CLUSTER_REASON="E2E_NO_CLUSTER=1"
else
  tc=$(date +%s)
  state=$tmp_dir/cluster.env
  log "starting the test cluster (e2e/cluster.mjs), log: $cluster_log"
  setsid ./scripts/node.sh node --no-warnings e2e/cluster.mjs --state "$state" --parent-pid $$ \
    >"$cluster_log" 2>&1 </dev/null &
  cluster_pid=$!
  while [ ! -s "$state" ]; do
    if ! kill -0 "$cluster_pid" 2>/dev/null; then
      log "ERROR: the cluster helper exited without a result:"
      tail -n 20 "$cluster_log" >&2
      exit 1
    fi
    if [ "$(($(date +%s) - tc))" -ge "$cluster_timeout" ]; then
      log "ERROR: test cluster not up within ${cluster_timeout}s:"
      tail -n 20 "$cluster_log" >&2
      exit 1
    fi
    sleep 0.5
  done
  # shellcheck disable=SC1090
  . "$state"
  if [ "${CLUSTER_FAILED:-}" = 1 ]; then
    log "ERROR: the test cluster failed to start: $CLUSTER_REASON (logs $CLUSTER_LOGS):"
    tail -n 20 "$cluster_log" >&2
    exit 1
  fi
  if [ "$CLUSTER_AVAILABLE" = 1 ]; then
    log "test cluster up after $(($(date +%s) - tc))s: $CLUSTER_SERVER (logs $CLUSTER_LOGS)"
    E2E_CLUSTER=1
    cat >"$tmp_dir/app-config.e2e.yaml" <<YAML
# Generated by scripts/e2e.sh: Storeplane against the test control plane.
storeplane:
  kubernetes:
    source: kubeconfig
    kubeconfigPath: $CLUSTER_KUBECONFIG
    requestTimeout: 5s
    rbac:
      serviceAccount:
        namespace: $CLUSTER_SERVICE_ACCOUNT_NAMESPACE
        name: $CLUSTER_SERVICE_ACCOUNT_NAME
      storeManagerClusterRole: $CLUSTER_STORE_MANAGER_ROLE
      storeInstallerClusterRole: $CLUSTER_STORE_INSTALLER_ROLE
  # The simulated pods serve no HTTP: the health gate asks a local stand-in.
  healthCheck:
    mode: url
    urlTemplate: 'http://127.0.0.1:$CLUSTER_HEALTH_PORT/{namespace}'
  reconciler:
    frequency: 1s
    initialBackoff: 1s
    maxBackoff: 5s
    stepTimeout: 5m
  helm:
    timeout: 3m
catalog:
  providers:
    storeplane:
      schedule:
        frequency: { seconds: 3 }
        timeout: { seconds: 30 }
YAML
    extra_config=(--config "$PWD/app-config.yaml" --config "$tmp_dir/app-config.e2e.yaml")
  else
    E2E_CLUSTER_REASON=$CLUSTER_REASON
    cluster_pid=""
  fi
fi
if [ "$E2E_CLUSTER" != 1 ]; then
  log "# SKIP store lifecycle steps: no test cluster ($E2E_CLUSTER_REASON)"
fi

# --- start the app in its own process group ---------------------------------
t0=$(date +%s)
log "starting the app (./scripts/yarn.sh dev ${extra_config[*]}), log: $app_log"
# setsid makes the child the leader of a new session + process group (pgid = its pid),
# so the whole tree (yarn, backstage-cli, backend, dev server) can be killed at once.
setsid ./scripts/yarn.sh dev "${extra_config[@]}" >"$app_log" 2>&1 </dev/null &
app_pgid=$!

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }

deadline=$((t0 + start_timeout))
backend_up="" frontend_up=""
while :; do
  if [ -n "$cluster_pid" ] && ! kill -0 "$cluster_pid" 2>/dev/null; then
    log "ERROR: the test cluster helper exited:"
    tail -n 20 "$cluster_log" >&2
    exit 1
  fi
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
log "cluster $((t0 - t_start))s, app startup $((t1 - t0))s, browser check $(($(date +%s) - t1))s, total $(($(date +%s) - t_start))s"
exit "$rc"
