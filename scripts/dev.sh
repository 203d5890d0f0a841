#!/usr/bin/env bash
# README command 1: installs dependencies when needed, then runs the app
# (backend on :7007, frontend on :3000) on embedded defaults (SQLite in memory, guest sign-in).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.yarn-state.yml ] || [ yarn.lock -nt node_modules/.yarn-state.yml ]; then
  ./scripts/yarn.sh install --immutable
fi
exec ./scripts/yarn.sh dev "$@"
