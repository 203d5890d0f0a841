#!/usr/bin/env bash
# README command 2: every check of the repository. Installs dependencies (immutable lockfile),
# checks that every @backstage package resolves to one version, starts a throwaway PostgreSQL
# for the database tests, then runs the type check, the API report check, lint, the config
# files against the config schemas, all packages' tests (SQLite + PostgreSQL, the real test
# control plane when Go is present), the Helm chart checks, the browser end-to-end test and
# the adoption check (scripts/adoption.sh).
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
# From scratch: an incremental build may write inferred union types in another order, which
# the API report check below would take for an API change (a clean build costs ~5 s more).
rm -rf dist-types
./scripts/yarn.sh tsc
# The checked-in API reports (report*.api.md) match the exports that tsc just declared (~10 s).
./scripts/yarn.sh build:api-reports:only --ci
./scripts/yarn.sh lint:all
./scripts/yarn.sh prettier:check
# Every config file against every package's schema (backstage-cli config:check --strict; ~15 s).
./scripts/check-config.sh
./scripts/test-charts.sh
STOREPLANE_REQUIRE_POSTGRES=1 ./scripts/with-postgres.sh ./scripts/yarn.sh test --verbose
# Reliability figures in a small configuration (crash, faults, replicas; about 2.5 minutes):
# real backend processes on the real control plane and PostgreSQL; exits 1 if an invariant breaks.
if command -v go >/dev/null; then
  ./scripts/with-postgres.sh ./scripts/yarn.sh reliability
fi
./scripts/e2e.sh
# A fresh @backstage/create-app app with the packages installed by the README's lines (~5 min).
./scripts/adoption.sh

echo "scripts/test.sh: all checks passed in $(( $(date +%s) - started )) s"
