#!/usr/bin/env bash
# Smoke test of the test control plane: builds (or reuses) the binary, starts a cluster with
# the TypeScript helper (packages/test-cluster, run by node >= 22.18 with type stripping)
# and runs the Go checks in test/cluster/smoke against it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
node=${NODE:-$HOME/.cache/storeplane/node-v22.23.3/bin/node}
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
export GOFLAGS=-buildvcs=false
bin=$("$root/scripts/ensure-test-cluster.sh")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
( cd "$root/test/cluster" && CGO_ENABLED=0 go test -p 2 -trimpath -vet=off -c -o "$tmp/smoke.test" ./smoke )
export STOREPLANE_TEST_CLUSTER_BIN="$bin" STOREPLANE_TINY_CHART="$root/test/cluster/testdata/tiny-chart"
cd "$root"
exec "$node" --no-warnings test/cluster/smoke/run-cluster.ts -- "$tmp/smoke.test" -test.v -test.count=1 -test.timeout=10m "$@"
