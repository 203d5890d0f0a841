#!/usr/bin/env bash
# Prints the path of a helm binary for the project's checks.
# Order: $HELM if set; else a helm built from the Go module proxy into a cache outside the
# repository (so the version is the one the project tested). Users outside these machines
# use their own helm 3.x.
#
#   ./scripts/ensure-helm.sh [--cached-only]      # exit 4 with --cached-only: not built yet
set -euo pipefail
HELM_MODULE_VERSION=v3.19.5
if [ -n "${HELM:-}" ]; then echo "$HELM"; exit 0; fi
cache_dir=${STOREPLANE_CACHE:-$HOME/.cache/storeplane}
bin_dir="$cache_dir/helm-$HELM_MODULE_VERSION"
if [ ! -x "$bin_dir/helm" ]; then
  [ "${1:-}" != --cached-only ] || exit 4
  command -v go >/dev/null || { echo "ensure-helm.sh: no helm and no Go toolchain to build one (install helm 3 or set HELM)" >&2; exit 1; }
  echo "ensure-helm.sh: building helm $HELM_MODULE_VERSION from the Go module proxy into $bin_dir" >&2
  mkdir -p "$bin_dir.partial"
  GOBIN="$bin_dir.partial" GOFLAGS=-trimpath CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$HELM_MODULE_VERSION" >&2
  rm -rf "$bin_dir"; mv "$bin_dir.partial" "$bin_dir"
fi
echo "$bin_dir/helm"
