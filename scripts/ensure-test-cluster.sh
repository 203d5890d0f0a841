#!/usr/bin/env bash
# Prints the path of the storeplane-test-cluster binary (etcd + kube-apiserver +
# kube-controller-manager + kubelet stand-in, built from Go modules; see test/cluster/).
# The binary is cached outside the repository, keyed on the sha256 of test/cluster's
# go.mod, go.sum and *.go files: a warm call does not rebuild.
# Exit 3: no Go toolchain.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src="$here/test/cluster"
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
cache_dir=${STOREPLANE_CACHE:-$HOME/.cache/storeplane}
key=$(cd "$src" && { cat go.mod go.sum; for f in $(ls *.go | LC_ALL=C sort); do echo "== $f"; cat "$f"; done; } | sha256sum | cut -c1-16)
out_dir="$cache_dir/test-cluster-$key"
bin="$out_dir/storeplane-test-cluster"
if [ ! -x "$bin" ]; then
  echo "ensure-test-cluster.sh: building $bin (cold build takes several minutes)" >&2
  mkdir -p "$cache_dir"
  tmp=$(mktemp -d "$cache_dir/test-cluster-build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  export GOFLAGS=-buildvcs=false
  # CGO_ENABLED=0: static binary, no C toolchain needed (upstream builds these the same way).
  ( cd "$src" && CGO_ENABLED=0 go build -p 2 -trimpath -o "$tmp/storeplane-test-cluster" . ) >&2
  rm -rf "$out_dir"; mkdir -p "$out_dir.partial"
  mv "$tmp/storeplane-test-cluster" "$out_dir.partial/"
  mv "$out_dir.partial" "$out_dir"
fi
echo "$bin"
