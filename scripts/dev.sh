#!/usr/bin/env bash
# README command 1: installs dependencies when needed, then runs the app (backend on :7007,
# frontend on :3000) on embedded defaults (SQLite in memory, guest sign-in), with stores on
# the local sandbox cluster when it can (docs/operations.md, "The sandbox").
#
#   ./scripts/dev.sh [--sandbox | --no-sandbox] [-- <more arguments for yarn dev>]
#
# --sandbox     start the sandbox, or fail saying why
# --no-sandbox  never start it (stores then need a cluster in the config)
# neither       start it unless a real cluster is configured (KUBECONFIG is set, or
#               app-config.local.yaml or a --config file after -- sets storeplane.kubernetes)
#               or it cannot start (no Go toolchain and no earlier build in the cache)
#
# The sandbox is the project's test control plane (packages/test-cluster): a real
# kube-apiserver, etcd and controllers with simulated pods. The first start builds it from Go
# modules into ~/.cache/storeplane (about 5 minutes, with progress); later starts take
# seconds. Its kubeconfigs and the app config it generates go to ~/.cache/storeplane/sandbox
# (STOREPLANE_CACHE moves it), never into the repository. It stops with the app.
set -euo pipefail
invoked_from=$PWD
cd "$(dirname "$0")/.."
. scripts/lib/processes.sh

log() { echo "dev.sh: $*" >&2; }

mode=auto
yarn_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sandbox) mode=on ;;
    --no-sandbox) mode=off ;;
    --) shift; yarn_args=("$@"); break ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument '$1' (see ./scripts/dev.sh --help)"; exit 2 ;;
  esac
  shift
done

if [ ! -f node_modules/.yarn-state.yml ] || [ yarn.lock -nt node_modules/.yarn-state.yml ]; then
  ./scripts/yarn.sh install --immutable
fi

# Config files the app reads, as absolute paths (the backend runs in packages/backend).
# With --config, Backstage reads only those given, so the defaults are named explicitly.
configs=("$PWD/app-config.yaml")
[ ! -f app-config.local.yaml ] || configs+=("$PWD/app-config.local.yaml")
other_args=()
for ((i = 0; i < ${#yarn_args[@]}; i++)); do
  if [ "${yarn_args[$i]}" = --config ]; then
    i=$((i + 1))
    config=${yarn_args[$i]:-}
    [[ "$config" = /* ]] || config=$invoked_from/$config
    configs+=("$config")
  else
    other_args+=("${yarn_args[$i]}")
  fi
done

if [ "$mode" = auto ]; then
  # app-config.yaml holds the shipped defaults; the others are the user's.
  if configured=$(./scripts/node.sh node scripts/sandbox/configured-cluster.mjs "${configs[@]:1}"); then
    log "a real cluster is configured ($configured): not starting the sandbox"
    mode=off
  elif ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ] \
    && ! { ./scripts/ensure-test-cluster.sh --cached-only && ./scripts/ensure-helm.sh --cached-only; } >/dev/null; then
    log "no Go toolchain to build the sandbox and no earlier build of it: running without a cluster."
    log "Stores will wait for one; see docs/operations.md to configure a cluster, or install Go >= 1.24."
    mode=off
  else
    mode=on
  fi
fi

if [ "$mode" = off ]; then
  config_args=()
  for config in "${configs[@]}"; do config_args+=(--config "$config"); done
  exec ./scripts/yarn.sh dev "${config_args[@]}" "${other_args[@]}"
fi

# --- the sandbox ---------------------------------------------------------------
require_free_ports 3000 7007
sandbox_dir=${STOREPLANE_CACHE:-$HOME/.cache/storeplane}/sandbox
cluster_pgid=""
app_pgid=""
cleanup() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM HUP
  [ -z "$app_pgid" ] || stop_group "$app_pgid" "the app"
  # The helper stops the control plane (its children) itself on TERM, so only it gets the
  # TERM; the group gets the KILL fallback.
  [ -z "$cluster_pgid" ] || stop_group "$cluster_pgid" "the sandbox cluster" leader-only
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# In the foreground, so a first build shows its progress here.
./scripts/ensure-test-cluster.sh >/dev/null
./scripts/ensure-helm.sh >/dev/null

started=$SECONDS
mkdir -p "$sandbox_dir"
rm -f "$sandbox_dir/state.env"
cluster_log=$sandbox_dir/cluster.log
log "starting the sandbox cluster (log: $cluster_log)"
setsid ./scripts/node.sh node --no-warnings scripts/sandbox/cluster.mjs \
  --dir "$sandbox_dir" --parent-pid $$ >"$cluster_log" 2>&1 </dev/null &
cluster_pgid=$!
while [ ! -s "$sandbox_dir/state.env" ]; do
  if ! kill -0 "$cluster_pgid" 2>/dev/null; then
    log "ERROR: the sandbox cluster exited before it was up:"
    tail -n 20 "$cluster_log" >&2
    exit 1
  fi
  if [ $((SECONDS - started)) -ge 300 ]; then
    log "ERROR: the sandbox cluster is not up after 300 s:"
    tail -n 20 "$cluster_log" >&2
    exit 1
  fi
  sleep 0.3
done
# shellcheck disable=SC1091
. "$sandbox_dir/state.env"
if [ "$SANDBOX_AVAILABLE" != 1 ]; then
  log "ERROR: the sandbox cannot start: $SANDBOX_REASON (logs: ${SANDBOX_LOGS:-$cluster_log})"
  exit 1
fi
log "sandbox cluster up in $((SECONDS - started)) s: API server $SANDBOX_SERVER, store ingress http://$SANDBOX_INGRESS"
log "  kubectl --kubeconfig $sandbox_dir/admin.kubeconfig get pods -A"
log "  the pods are simulated: no real WordPress runs; control plane logs in $SANDBOX_LOGS"
if [ -n "${SANDBOX_MARIADB_SOCKET:-}" ]; then
  log "  backup and restore Jobs run against a throwaway MariaDB (one stand-in database per store): mariadb -uroot -S $SANDBOX_MARIADB_SOCKET"
else
  log "  no mariadb-server on this machine: backup and restore Jobs complete without running (apt-get install mariadb-server to run them)"
fi

configs+=("$sandbox_dir/app-config.sandbox.yaml")
config_args=()
for config in "${configs[@]}"; do config_args+=(--config "$config"); done
log "starting the app: yarn dev ${config_args[*]} ${other_args[*]}"
setsid ./scripts/yarn.sh dev "${config_args[@]}" "${other_args[@]}" </dev/null &
app_pgid=$!

# Until either stops: then the other stops too (cleanup).
while kill -0 "$app_pgid" 2>/dev/null; do
  if ! kill -0 "$cluster_pgid" 2>/dev/null; then
    log "ERROR: the sandbox cluster stopped (see $cluster_log); stopping the app"
    exit 1
  fi
  sleep 1
done
wait "$app_pgid" || exit $?
