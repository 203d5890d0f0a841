#!/usr/bin/env bash
# Validates the app's config files against every package's config schema with
# `backstage-cli config:check --strict` (a key without a schema, a wrong type or an unknown
# enum value fails): app-config.yaml with the production file and the config that
# charts/backstage-storeplane generates, and with a file that sets every Storeplane key
# (plugins/stores-backend/src/config/__fixtures__/every-key.yaml; its unit test proves that
# the backend reads no key missing from it). Then checks that a typo does fail.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # check <config files...>; --lax: ${POSTGRES_*} need not be set here
  ./scripts/yarn.sh backstage-cli config:check --strict --lax \
    $(printf -- '--config %s ' app-config.yaml "$@")
}

HELM=$(scripts/ensure-helm.sh)
"$HELM" template sp charts/backstage-storeplane --kube-version 1.33.0 \
  -f charts/backstage-storeplane/ci/postgres-values.yaml \
  --show-only templates/configmap.yaml >"$work/configmap.yaml" 2> >(grep -v 'found symbolic link' >&2)
./scripts/node.sh node -e '
  const yaml = require("yaml");
  const fs = require("node:fs");
  const [from, to] = process.argv.slice(1);
  fs.writeFileSync(to, yaml.parse(fs.readFileSync(from, "utf8")).data["app-config.production.yaml"]);
' "$work/configmap.yaml" "$work/app-config.chart.yaml"

check app-config.production.yaml "$work/app-config.chart.yaml"
check plugins/stores-backend/src/config/__fixtures__/every-key.yaml

printf 'storeplane:\n  kubernetes:\n    source: incluster\n' >"$work/typo.yaml"
if check "$work/typo.yaml" >"$work/typo.log" 2>&1; then
  echo "check-config.sh: config:check accepted storeplane.kubernetes.source: incluster" >&2
  exit 1
fi
grep -q "allowedValues=kubeconfig,inCluster,url" "$work/typo.log" || {
  cat "$work/typo.log" >&2
  exit 1
}
echo "check-config.sh: app, production, chart and every-key configs match the schemas; a typo fails"
