#!/usr/bin/env bash
# Runs the Yarn release committed in .yarn/releases with Node >= 22 (see node.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
yarn_release=$(ls "$root"/.yarn/releases/yarn-*.cjs | head -n 1)
# `yarn` inside package scripts resolves to the same release through .yarnrc.yml's yarnPath;
# this shim makes a bare `yarn` work for the scripts below too.
shim_dir="${STOREPLANE_CACHE:-$HOME/.cache/storeplane}/yarn-shim"
mkdir -p "$shim_dir"
printf '#!/bin/sh\nexec node "%s" "$@"\n' "$yarn_release" > "$shim_dir/yarn"
chmod +x "$shim_dir/yarn"
export PATH="$shim_dir:$PATH"
exec "$root/scripts/node.sh" node "$yarn_release" "$@"
