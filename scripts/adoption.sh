#!/usr/bin/env bash
# A worked example of adoption: creates a fresh Backstage app with @backstage/create-app (as a
# new user would), installs the Storeplane packages of this workspace into it with only the
# install lines of README.md ("Install into your Backstage app"), builds it, starts it and checks
# in headless Chromium that the template creates a store, that the store's entity has its Store
# tab and card, and that the Stores page lists it. Prints the lines added and the timings.
#
#   ./scripts/adoption.sh
#
# How the packages get into the app: each @storeplane package is built and packed
# (`yarn pack`, so the tarball is what npm would publish: dist, the prepack manifest) and served
# by a throwaway local registry for the @storeplane scope (scripts/adoption/registry.mjs). The
# README's plain `yarn add` lines then work unchanged, as against npmjs.com; `file:`/`portal:`
# references would have meant rewriting those lines.
#
# Environment:
#   ADOPTION_PORT              port of the app (backend + the built frontend; default 7157)
#   ADOPTION_CREATE_APP        create-app version (default 0.9.2, which makes a 1.55 app)
#   ADOPTION_KEEP=1            keep the app directory (default: removed when the check passes)
#   ADOPTION_START_TIMEOUT     seconds to wait for the backend (default 240)
#   ADOPTION_PACKED_MARKER     a file to create once the packages are packed: from then on the
#                              script no longer touches this workspace (scripts/test.sh waits
#                              for it before running other checks beside this one)
#   CHROMIUM_PATH              browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

port=${ADOPTION_PORT:-7157}
create_app_version=${ADOPTION_CREATE_APP:-0.9.2}
start_timeout=${ADOPTION_START_TIMEOUT:-240}
storeplane_packages=(
  stores-common
  stores-node
  stores
  stores-backend
  scaffolder-backend-module-stores
  catalog-backend-module-stores
)

log() { echo "adoption.sh: $*" >&2; }
t_start=$(date +%s)
declare -a timings=()
mark() { # <phase> <since>
  timings+=("$1 $(($(date +%s) - $2))s")
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_in_use "$port"; then
  log "ERROR: port $port is in use; set ADOPTION_PORT to a free port"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/storeplane-adoption.XXXXXX")
app="$work/app"
registry_pid=""
app_pgid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$app_pgid" ] && kill -0 -- "-$app_pgid" 2>/dev/null; then
    if [ "$rc" -ne 0 ]; then
      log "app log (last 30 lines, full log $work/app.log):"
      tail -n 30 "$work/app.log" | sed -e 's/\x1b\[[0-9;]*m//g' | cut -c1-300 >&2 || true
    fi
    kill -TERM -- "-$app_pgid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 -- "-$app_pgid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$app_pgid" 2>/dev/null || true
  fi
  [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true
  # `yarn pack` rewrites package.json for publishing and restores it afterwards; put it back
  # if the pack was interrupted in between.
  for name in "${storeplane_packages[@]}"; do
    backup="$root/plugins/$name/package.json-prepack"
    [ ! -f "$backup" ] || mv "$backup" "$root/plugins/$name/package.json"
  done
  if [ "$rc" -eq 0 ] && [ "${ADOPTION_KEEP:-}" != 1 ]; then
    rm -rf "$work"
  else
    log "kept $work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. the packages, as they would be published ------------------------------
t=$(date +%s)
log "building and packing ${#storeplane_packages[@]} @storeplane packages"
./scripts/yarn.sh tsc >/dev/null
mkdir -p "$work/registry"
for name in "${storeplane_packages[@]}"; do
  ./scripts/yarn.sh workspace "@storeplane/plugin-$name" backstage-cli package build >/dev/null
  ./scripts/yarn.sh workspace "@storeplane/plugin-$name" pack --out "$work/registry/%s-%v.tgz" >/dev/null
done
./scripts/node.sh node scripts/adoption/registry.mjs "$work/registry" "$work/registry.port" \
  >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 50); do [ -s "$work/registry.port" ] && break; sleep 0.2; done
[ -s "$work/registry.port" ] || { cat "$work/registry.log" >&2; exit 1; }
registry_url="http://127.0.0.1:$(cat "$work/registry.port")"
mark "build+pack" "$t"
[ -z "${ADOPTION_PACKED_MARKER:-}" ] || touch "$ADOPTION_PACKED_MARKER"

# The fresh app runs its own committed Yarn; create-app only needs a `yarn` on PATH.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec node "%s" "$@"\n' "$(ls "$root"/.yarn/releases/yarn-*.cjs | head -n 1)" >"$work/bin/yarn"
chmod +x "$work/bin/yarn"
in_app() { (cd "$app" && PATH="$work/bin:$PATH" "$root/scripts/node.sh" "$@"); }

# --- 2. a fresh app --------------------------------------------------------------
t=$(date +%s)
log "creating an app with @backstage/create-app@$create_app_version"
(cd "$work" && PATH="$work/bin:$PATH" BACKSTAGE_APP_NAME=adopter \
  "$root/scripts/node.sh" npx --yes "@backstage/create-app@$create_app_version" --path app --skip-install \
  >"$work/create-app.log" 2>&1) || { cat "$work/create-app.log" >&2; exit 1; }
log "app made by create-app: Backstage $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$app/backstage.json")"
# create-app commits the app when git has an identity; the line count below needs that commit.
git_in_app() { git -C "$app" -c user.name=adoption -c user.email=adoption@localhost "$@"; }
[ -d "$app/.git" ] || git_in_app init -q
git_in_app add -A
git_in_app commit -qm "the app as create-app made it" >/dev/null || true

# The registry stand-in: the @storeplane scope comes from the local registry (plain http on
# loopback), and create-app's 3-day minimal age gate lets it through like @backstage/*.
cat >>"$app/.yarnrc.yml" <<YAML
npmScopes:
  storeplane:
    npmRegistryServer: "$registry_url"
unsafeHttpWhitelist:
  - 127.0.0.1
YAML
sed -i "s|^  - '@backstage/\*'$|&\n  - '@storeplane/*'|" "$app/.yarnrc.yml"

# A repair the fresh app needs whatever is installed into it: create-app $create_app_version pins
# @backstage/backend-defaults ^0.18.0, but the @backstage/plugin-signals-backend it resolves
# today needs ^0.19.0 ("httpRouter.addWebSocketHandler is not a function" at startup).
sed -i 's|"@backstage/backend-defaults": "\^0\.18\.[0-9]*"|"@backstage/backend-defaults": "^0.19.0"|' \
  "$app/packages/backend/package.json"
git_in_app add -A
git_in_app commit -qm "registry stand-in and backend-defaults repair"
mark "create-app" "$t"

# --- 3. the README's lines ---------------------------------------------------------
t=$(date +%s)
log "applying the install lines of README.md"
in_app node "$root/scripts/adoption/apply-readme.mjs" "$root/README.md" "$app" >"$work/apply.log" 2>&1 ||
  { tail -n 40 "$work/apply.log" >&2; exit 1; }
grep -v '^➤' "$work/apply.log" >&2 || true
readme_lines=$(sed -n 's/^apply-readme: \([0-9]*\) README lines applied$/\1/p' "$work/apply.log")
stated_lines=$(sed -n 's/.*They are \*\*\([0-9]*\) lines\*\*.*/\1/p' README.md)
if [ "$stated_lines" != "$readme_lines" ]; then
  log "ERROR: README.md says the install is ${stated_lines:-?} lines, but its install blocks have $readme_lines"
  exit 1
fi
git_in_app add -A
git_in_app diff --cached --numstat -- . ':!yarn.lock' >"$work/diff.numstat"
diff_lines=$(awk '{ added += $1; removed += $2; files++ } END { printf "+%d -%d lines in %d files", added, removed, files }' "$work/diff.numstat")
awk '{ printf "  %s +%s -%s\n", $3, $1, $2 }' "$work/diff.numstat" >&2
mark "install (README lines)" "$t"

# --- 4. build ------------------------------------------------------------------------
t=$(date +%s)
log "type check and build (backend, and the production frontend bundle it serves)"
in_app yarn tsc >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
in_app yarn build:backend >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
mark "tsc+build" "$t"

# The installed backend package carries the store chart, and the engine the plugin registers
# finds it there (not in this repository), as a Helm Job would get it.
chart_dir=$(cd "$app/packages/backend" && "$root/scripts/node.sh" node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const { createWooCommerceEngine } = require("@storeplane/plugin-stores-backend");
  const dir = fs.realpathSync(createWooCommerceEngine().bundledChartPath);
  const chart = fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8");
  if (!/^name: woocommerce-store$/m.test(chart)) throw new Error(`no store chart in ${dir}`);
  console.log(dir);
') || { log "ERROR: the installed @storeplane/plugin-stores-backend does not carry its chart"; exit 1; }
case "$chart_dir" in
  "$(cd "$app" && pwd -P)"/node_modules/@storeplane/plugin-stores-backend/charts/woocommerce-store) log "store chart: $chart_dir" ;;
  *) log "ERROR: the engine's chart is at $chart_dir, not in the installed package"; exit 1 ;;
esac

# --- 5. start: the backend serves the built frontend on one port -------------------------
t=$(date +%s)
cat >"$work/app-config.adoption.yaml" <<YAML
app:
  baseUrl: http://localhost:$port
backend:
  baseUrl: http://localhost:$port
  listen:
    port: $port
  cors:
    origin: http://localhost:$port
YAML
log "starting the backend on :$port"
(cd "$app" && PATH="$work/bin:$PATH" exec setsid "$root/scripts/node.sh" yarn workspace backend start \
  --config ../../app-config.yaml --config "$work/app-config.adoption.yaml" >"$work/app.log" 2>&1 </dev/null) &
app_pgid=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://localhost:$port/.backstage/health/v1/readiness")" = 200 ]; do
  kill -0 "$app_pgid" 2>/dev/null || { log "ERROR: the app exited"; exit 1; }
  [ "$(($(date +%s) - t))" -lt "$start_timeout" ] || { log "ERROR: not ready within ${start_timeout}s"; exit 1; }
  sleep 2
done
mark "start" "$t"

# --- 6. browser check ------------------------------------------------------------------------
t=$(date +%s)
./scripts/node.sh node scripts/adoption/check-app.mjs "http://localhost:$port"
mark "browser check" "$t"

log "Storeplane install: $readme_lines README lines; app diff without yarn.lock: $diff_lines"
log "timings: ${timings[*]}, total $(($(date +%s) - t_start))s"
