#!/usr/bin/env bash
# Prints the path of the storeplane-test-cluster binary (etcd + kube-apiserver +
# kube-controller-manager + kubelet stand-in, built from Go modules; see test/cluster/).
# The binary is cached outside the repository, keyed on the sha256 of test/cluster's
# go.mod, go.sum and Go sources: a warm call does not rebuild, and needs no Go toolchain.
# A build reports its progress on stderr (packages compiled so far, elapsed time).
#
#   ./scripts/ensure-test-cluster.sh [--cached-only]
#
# Exit 3: no Go toolchain to build it. Exit 4 (--cached-only): not built yet.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src="$here/test/cluster"
cache_dir=${STOREPLANE_CACHE:-$HOME/.cache/storeplane}
sources() { (cd "$src" && find . -name '*.go' -not -name '*_test.go' -not -path './smoke/*' | LC_ALL=C sort); }
key=$(cd "$src" && { cat go.mod go.sum; for f in $(sources); do echo "== $f"; cat "$f"; done; } | sha256sum | cut -c1-16)
out_dir="$cache_dir/test-cluster-$key"
bin="$out_dir/storeplane-test-cluster"

# go build -v names each package as it compiles it; everything else (errors) passes through.
report_progress() {
  local n=0 line started=$SECONDS
  while IFS= read -r line; do
    if [[ "$line" =~ ^[A-Za-z0-9._~/-]+$ ]]; then
      n=$((n + 1))
      if [ $((n % 100)) -eq 0 ]; then
        echo "ensure-test-cluster.sh: compiled $n of at most $1 packages ($((SECONDS - started)) s)" >&2
      fi
    else
      echo "$line" >&2
    fi
  done
  echo "ensure-test-cluster.sh: compiled $n packages in $((SECONDS - started)) s" >&2
}

if [ ! -x "$bin" ]; then
  [ "${1:-}" != --cached-only ] || exit 4
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; else
      echo "##################################################################" >&2
      echo "ensure-test-cluster.sh: NO GO TOOLCHAIN FOUND (need Go >= 1.24)." >&2
      echo "The test Kubernetes control plane is built from Go modules;" >&2
      echo "install Go (https://go.dev/dl/) and put it on PATH." >&2
      echo "##################################################################" >&2
      exit 3
    fi
  fi
  echo "ensure-test-cluster.sh: building $bin" >&2
  echo "ensure-test-cluster.sh: a cold build takes about 5 minutes and 2.5 GB of RAM on 2 cores (plus fetching the Go modules the first time); later runs reuse it" >&2
  mkdir -p "$cache_dir"
  tmp=$(mktemp -d "$cache_dir/test-cluster-build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  export GOFLAGS=-buildvcs=false
  # Also downloads the modules on a cold cache ("go: downloading ..." lines).
  total=$(cd "$src" && go list -deps . | wc -l)
  # CGO_ENABLED=0: static binary, no C toolchain needed (upstream builds these the same way).
  ( cd "$src" && CGO_ENABLED=0 go build -v -p 2 -trimpath -o "$tmp/storeplane-test-cluster" . ) 2>&1 \
    | report_progress "$total"
  rm -rf "$out_dir"; mkdir -p "$out_dir.partial"
  mv "$tmp/storeplane-test-cluster" "$out_dir.partial/"
  mv "$out_dir.partial" "$out_dir"
fi
echo "$bin"
