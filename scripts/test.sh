#!/usr/bin/env bash
# README command 2: every check of the repository. Installs dependencies (immutable lockfile),
# checks that every @backstage package resolves to one version, starts a throwaway PostgreSQL
# for the database tests, then runs the type check, the API report check, lint, the config
# files against the config schemas, the Helm chart checks, all packages' tests (SQLite +
# PostgreSQL, the real test control plane when Go is present), the throughput bench, the
# reliability bench, the browser end-to-end test and the adoption check (scripts/adoption.sh).
# Prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CI=true
# Test databases come from with-postgres.sh, never from Docker (there is none here).
export BACKSTAGE_TEST_DISABLE_DOCKER=1

./scripts/yarn.sh install --immutable
./scripts/node.sh node scripts/check-backstage-versions.mjs

# The real test control plane and helm are built from Go modules into ~/.cache/storeplane
# (about 5 minutes the first time, then reused). Without Go those suites skip, loudly.
if command -v go >/dev/null; then
  ./scripts/ensure-test-cluster.sh >/dev/null
  # The sim's NetworkPolicy evaluation, on its own (the real-cluster suites use it too).
  (cd test/cluster && GOFLAGS=-buildvcs=false go test ./netpol)
  export STOREPLANE_REQUIRE_CLUSTER=1
else
  echo "scripts/test.sh: WARNING: no Go toolchain, so the real Kubernetes control-plane tests will be SKIPPED" >&2
fi
phase() { # <name> <command...>: runs the command and says how long it took
  local name=$1 since
  shift
  since=$(date +%s)
  "$@"
  echo "scripts/test.sh: $name took $(($(date +%s) - since)) s" >&2
}

# From scratch: an incremental build may write inferred union types in another order, which
# the API report check below would take for an API change (a clean build costs ~5 s more).
rm -rf dist-types
phase "type check" ./scripts/yarn.sh tsc
# The checked-in API reports (report*.api.md) match the exports that tsc just declared (~10 s).
phase "API reports" ./scripts/yarn.sh build:api-reports:only --ci
# The spec export of the generated server code matches openapi.yaml (~2 s); after a spec edit,
# `yarn openapi:generate` regenerates the server types and the stores-common client together.
phase "OpenAPI check" ./scripts/yarn.sh openapi:check
phase "lint" ./scripts/yarn.sh lint:all
phase "format check" ./scripts/yarn.sh prettier:check
# Every config file against every package's schema (backstage-cli config:check --strict; ~15 s).
phase "config check" ./scripts/check-config.sh
phase "chart checks" ./scripts/test-charts.sh
# Three Jest workers on two cores: the real-cluster files (each with its own control plane)
# mostly wait on the API server and helm, so they run side by side.
phase "jest" env STOREPLANE_REQUIRE_POSTGRES=1 ./scripts/with-postgres.sh ./scripts/yarn.sh test --verbose --maxWorkers=3

# The throughput bench in a small form (100 stores, 3 in-process replicas, PostgreSQL; ~20 s):
# exits 1 if a store is not Ready or two claims of a store overlap; its timings are not checked.
phase "throughput bench" ./scripts/with-postgres.sh env BENCH_DATABASE=postgres STORES=100 REPLICAS=3 ./scripts/yarn.sh bench

# A fresh @backstage/create-app app with the packages installed by the README's lines (~5 min,
# mostly the app's own install and build). It needs no cluster and uses its own port, so it runs
# beside the reliability bench and the browser e2e, which mostly wait; its log follows at the end.
adoption_log=$(mktemp)
adoption_packed=$(mktemp -u)
ADOPTION_PACKED_MARKER=$adoption_packed ./scripts/adoption.sh >"$adoption_log" 2>&1 &
adoption_pid=$!
adoption_since=$(date +%s)
trap 'kill "$adoption_pid" 2>/dev/null || true; rm -f "$adoption_log" "$adoption_packed"' EXIT
# Packing rewrites the packages' package.json for a moment: nothing else runs until it is done.
while [ ! -e "$adoption_packed" ] && kill -0 "$adoption_pid" 2>/dev/null; do sleep 1; done

# Reliability figures in a small configuration (crash, faults, replicas; about 3 minutes):
# real backend processes on the real control plane and PostgreSQL; exits 1 if an invariant breaks.
if command -v go >/dev/null; then
  phase "reliability bench" ./scripts/with-postgres.sh ./scripts/yarn.sh reliability
fi
phase "browser e2e" ./scripts/e2e.sh

adoption_rc=0
wait "$adoption_pid" || adoption_rc=$?
cat "$adoption_log"
echo "scripts/test.sh: adoption check took $(($(date +%s) - adoption_since)) s (beside the bench and e2e)" >&2
if [ "$adoption_rc" -ne 0 ]; then
  echo "scripts/test.sh: the adoption check failed (exit $adoption_rc)" >&2
  exit "$adoption_rc"
fi

echo "scripts/test.sh: all checks passed in $(( $(date +%s) - started )) s"
