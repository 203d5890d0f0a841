#!/usr/bin/env bash
# Static checks of the Helm charts in charts/: lint, render, schema and template guards.
# Server-side checks against a real API server live in the RBAC/integration tests.
# Usage: scripts/test-charts.sh   (HELM=/path/to/helm to use another helm 3)
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=$(scripts/ensure-helm.sh)
WC=charts/woocommerce-store
RB=charts/storeplane-rbac
BS=charts/backstage-storeplane
passed=0
failed=0
out=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT

report() { # report <ok:0|1> <name>
  if [ "$1" = 0 ]; then
    passed=$((passed + 1)); echo "PASS $2"
  else
    failed=$((failed + 1)); echo "FAIL $2"; sed 's/^/    /' "$out" | tail -n 20
  fi
}

# expect_ok <name> <command...>: the command must succeed.
expect_ok() {
  local name=$1; shift
  if "$@" >"$out" 2>&1; then report 0 "$name"; else report 1 "$name"; fi
}

# expect_fail <name> <pattern> <command...>: the command must fail with output matching pattern.
expect_fail() {
  local name=$1 pattern=$2; shift 2
  if "$@" >"$out" 2>&1; then
    echo "    (command succeeded, a failure was expected)" >>"$out"; report 1 "$name"
  elif grep -Eq -- "$pattern" "$out"; then
    report 0 "$name"
  else
    echo "    (failed, but the output does not match /$pattern/)" >>"$out"; report 1 "$name"
  fi
}

# expect_render <name> <pattern> <helm template args...>: renders and the output matches pattern.
expect_render() {
  local name=$1 pattern=$2; shift 2
  if "$HELM" template "$@" >"$out" 2>&1 && grep -Eq -- "$pattern" "$out"; then
    report 0 "$name"
  else
    echo "    (no match for /$pattern/)" >>"$out"; report 1 "$name"
  fi
}

echo "helm: $("$HELM" version --short 2>/dev/null || "$HELM" version)"

## woocommerce-store
small=$WC/ci/small-values.yaml
for f in "$WC"/ci/*.yaml; do
  expect_ok "woocommerce-store: lint --strict -f ${f#"$WC"/}" "$HELM" lint --strict "$WC" -f "$f"
  expect_ok "woocommerce-store: template -f ${f#"$WC"/}" "$HELM" template store "$WC" -n store-ci -f "$f"
done
expect_fail "woocommerce-store: default values (no store.id) are rejected" "/store/id" \
  "$HELM" lint --strict "$WC"
expect_fail "woocommerce-store: schema rejects missing store.id" "/store/id" \
  "$HELM" template store "$WC" -f "$small" --set store.id=
expect_fail "woocommerce-store: schema rejects an invalid store.id" "/store/id" \
  "$HELM" template store "$WC" -f "$small" --set store.id=Bad_Id
expect_fail "woocommerce-store: schema rejects wordpress.replicas 0" "/wordpress/replicas" \
  "$HELM" template store "$WC" -f "$small" --set wordpress.replicas=0
expect_fail "woocommerce-store: schema rejects an unknown top-level key" "additional properties 'bogus'" \
  "$HELM" template store "$WC" -f "$small" --set bogus=1
expect_fail "woocommerce-store: schema rejects a bad cpu quantity" "/wordpress/resources/requests/cpu" \
  "$HELM" template store "$WC" -f "$small" --set wordpress.resources.requests.cpu=lots
expect_fail "woocommerce-store: schema rejects a bad memory quantity" "/mariadb/resources/limits/memory" \
  "$HELM" template store "$WC" -f "$small" --set mariadb.resources.limits.memory=512
expect_fail "woocommerce-store: schema requires limits (ResourceQuota)" "missing property 'limits'" \
  "$HELM" template store "$WC" -f "$small" --set setup.resources.limits=null
expect_fail "woocommerce-store: schema rejects 2 replicas on ReadWriteOnce" "ReadWriteMany" \
  "$HELM" template store "$WC" -f "$small" --set wordpress.replicas=2
expect_fail "woocommerce-store: schema requires ingress.host when enabled" "/ingress/host" \
  "$HELM" template store "$WC" -f "$small" --set ingress.host=
expect_fail "woocommerce-store: schema requires the TLS secret name when TLS is on" "secretName" \
  "$HELM" template store "$WC" -f "$small" --set ingress.tls.enabled=true
expect_ok "woocommerce-store: ingress can be disabled without a host" \
  "$HELM" template store "$WC" -f "$small" --set ingress.enabled=false --set ingress.host=
expect_render "woocommerce-store: setup Job is a post-install,post-upgrade hook" \
  "helm.sh/hook: post-install,post-upgrade" store "$WC" -f "$small" --show-only templates/setup-job.yaml
expect_render "woocommerce-store: admin password comes from the store Secret" \
  "key: admin-password" store "$WC" -f "$small" --show-only templates/setup-job.yaml
expect_render "woocommerce-store: ReadWriteOnce docroot uses the Recreate strategy" \
  "type: Recreate" store "$WC" -f "$small" --show-only templates/wordpress-deployment.yaml
expect_render "woocommerce-store: large plan (RWX) rolls WordPress without downtime" \
  "maxUnavailable: 0" store "$WC" -f "$WC/ci/large-values.yaml" --show-only templates/wordpress-deployment.yaml
if "$HELM" template store "$WC" -f "$small" >"$out" 2>&1 \
  && ! grep -Eq '^kind: Secret$|bitnami' "$out" \
  && [ "$(grep -Ec '^ +limits:$' "$out")" -eq "$(grep -Ec '^ +- name: (wordpress|mariadb|setup)$' "$out")" ] \
  && [ "$(grep -c 'storeplane.io/store-id: "ci-small"' "$out")" -ge 10 ]; then
  report 0 "woocommerce-store: no Secret, no Bitnami, limits on every container, store-id labels"
else
  report 1 "woocommerce-store: no Secret, no Bitnami, limits on every container, store-id labels"
fi

## storeplane-rbac
# helm template/lint assume Kubernetes 1.20 offline; the guard needs ValidatingAdmissionPolicy (1.30+).
kv=(--kube-version 1.34.0)
expect_ok "storeplane-rbac: lint --strict (default values)" "$HELM" lint --strict "$RB" "${kv[@]}"
for f in "$RB"/ci/*.yaml; do
  expect_ok "storeplane-rbac: lint --strict -f ${f#"$RB"/}" "$HELM" lint --strict "$RB" -f "$f" "${kv[@]}"
done
expect_fail "storeplane-rbac: schema rejects an unknown key" "additional properties 'bogus'" \
  "$HELM" template storeplane "$RB" "${kv[@]}" --set bogus=1
expect_fail "storeplane-rbac: schema rejects an invalid role name" "/storeManagerRole" \
  "$HELM" template storeplane "$RB" "${kv[@]}" --set storeManagerRole=Bad_Role
if "$HELM" template storeplane "$RB" "${kv[@]}" -n storeplane-rbac --set serviceAccount.name=backstage \
  --set serviceAccount.namespace=backstage >"$out" 2>&1 \
  && grep -A3 '^subjects:' "$out" | grep -q 'name: backstage' && grep -A3 '^subjects:' "$out" | grep -q 'namespace: backstage' \
  && grep -q "system:serviceaccount:backstage:backstage" "$out" && ! grep -q '^kind: ServiceAccount$' "$out" \
  && [ "$(grep -c '^kind: ClusterRole$' "$out")" -eq 3 ] && grep -q '^kind: ValidatingAdmissionPolicyBinding$' "$out"; then
  report 0 "storeplane-rbac: beside an existing Backstage, binds and guards that Backstage's ServiceAccount (creates none)"
else
  report 1 "storeplane-rbac: beside an existing Backstage, binds and guards that Backstage's ServiceAccount (creates none)"
fi
expect_render "storeplane-rbac: namespace guard scopes the ServiceAccount to store namespaces" \
  "startsWith\('store-'\)" storeplane "$RB" "${kv[@]}" --show-only templates/namespace-guard.yaml
expect_render "storeplane-rbac: namespace guard allows only the restricted Pod Security level" \
  "optional.of\('restricted'\)" storeplane "$RB" "${kv[@]}" --show-only templates/namespace-guard.yaml
expect_fail "storeplane-rbac: refuses a cluster without ValidatingAdmissionPolicy (Kubernetes 1.29)" \
  "has no admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy API.*namespaceGuard.enabled=false" \
  "$HELM" template storeplane "$RB" --kube-version 1.29.0
expect_ok "storeplane-rbac: the API's presence (--api-versions) is enough" \
  "$HELM" template storeplane "$RB" --api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
if "$HELM" template storeplane "$RB" --kube-version 1.29.0 --set namespaceGuard.enabled=false >"$out" 2>&1 \
  && ! grep -q '^kind: ValidatingAdmissionPolicy' "$out" && grep -q '^kind: ClusterRole$' "$out"; then
  report 0 "storeplane-rbac: namespaceGuard.enabled=false is the explicit opt-out on older clusters"
else
  report 1 "storeplane-rbac: namespaceGuard.enabled=false is the explicit opt-out on older clusters"
fi
if "$HELM" template storeplane "$RB" "${kv[@]}" >"$out" 2>&1 && [ "$(grep -c '^kind: ClusterRole$' "$out")" -eq 3 ] \
  && ! grep -Eq '"\*"\]?$|- "\*"|verbs: \[\*\]|escalate|impersonate' <(sed -n '/^kind: ClusterRole$/,/^---/p' "$out"); then
  report 0 "storeplane-rbac: no wildcard, escalate or impersonate in ClusterRoles"
else
  report 1 "storeplane-rbac: no wildcard, escalate or impersonate in ClusterRoles"
fi

## backstage-storeplane
pg=(--set database.postgres.host=postgres.db --set database.postgres.password=pw)
expect_ok "backstage-storeplane: lint --strict (default values)" "$HELM" lint --strict "$BS" "${kv[@]}"
expect_ok "backstage-storeplane: template (default values + PostgreSQL)" \
  "$HELM" template backstage "$BS" "${kv[@]}" -n backstage "${pg[@]}"
for f in "$BS"/ci/*.yaml; do
  expect_ok "backstage-storeplane: lint --strict -f ${f#"$BS"/}" "$HELM" lint --strict "$BS" -f "$f" "${kv[@]}"
  expect_ok "backstage-storeplane: template -f ${f#"$BS"/}" "$HELM" template backstage "$BS" -n backstage -f "$f" "${kv[@]}"
done
expect_fail "backstage-storeplane: replicas 2 with better-sqlite3 fails" "needs database.client: pg" \
  "$HELM" template backstage "$BS" "${kv[@]}" --set replicas=2 --set database.client=better-sqlite3
expect_fail "backstage-storeplane: schema rejects replicas 0" "/replicas" \
  "$HELM" template backstage "$BS" "${kv[@]}" "${pg[@]}" --set replicas=0
expect_fail "backstage-storeplane: schema rejects an unknown top-level key" "additional properties 'bogus'" \
  "$HELM" template backstage "$BS" "${kv[@]}" "${pg[@]}" --set bogus=1
expect_fail "backstage-storeplane: schema rejects an unknown database client" "/database/client" \
  "$HELM" template backstage "$BS" "${kv[@]}" "${pg[@]}" --set database.client=mysql
expect_fail "backstage-storeplane: PostgreSQL needs a host or an existing Secret" "database.postgres.host is required" \
  "$HELM" template backstage "$BS" "${kv[@]}"
if "$HELM" template backstage "$BS" "${kv[@]}" -n backstage "${pg[@]}" --set rbac.storeManagerRole=sm --set rbac.storeInstallerRole=si >"$out" 2>&1 \
  && grep -A3 'resourceNames:' "$out" | grep -q -- '- sm' && grep -A3 'resourceNames:' "$out" | grep -q -- '- si' \
  && grep -q 'storeManagerClusterRole: sm' "$out" && grep -q 'storeInstallerClusterRole: si' "$out" \
  && [ "$(grep -c '^kind: ClusterRole$' "$out")" -eq 3 ] && grep -q '^  name: sm$' "$out" && grep -q '^  name: si$' "$out"; then
  report 0 "backstage-storeplane: role names reach the ClusterRoles, the bind rule and app-config"
else
  report 1 "backstage-storeplane: role names reach the ClusterRoles, the bind rule and app-config"
fi
if "$HELM" template backstage "$BS" "${kv[@]}" -n backstage "${pg[@]}" --show-only templates/configmap.yaml >"$out" 2>&1 \
  && grep -q 'source: inCluster' "$out" \
  && grep -A2 'serviceAccount:' "$out" | grep -q 'name: backstage' \
  && grep -A2 'serviceAccount:' "$out" | grep -q 'namespace: backstage'; then
  report 0 "backstage-storeplane: app-config tells the plugin its own ServiceAccount (it binds the store-manager role to it)"
else
  report 1 "backstage-storeplane: app-config tells the plugin its own ServiceAccount (it binds the store-manager role to it)"
fi
# The umbrella renders its RBAC through the storeplane-rbac dependency: exactly what the chart
# renders on its own for the same release, ServiceAccount and roles (only the "# Source" lines differ).
umbrella_rbac() { # umbrella_rbac <release> <namespace> <helm args...>
  local release=$1 namespace=$2; shift 2
  "$HELM" template "$release" "$BS" "${kv[@]}" -n "$namespace" "${pg[@]}" "$@" \
    --show-only charts/rbac/templates/rbac.yaml --show-only charts/rbac/templates/namespace-guard.yaml 2>/dev/null | grep -v '^# Source:'
}
standalone_rbac() { # standalone_rbac <release> <namespace> <helm args...>
  local release=$1 namespace=$2; shift 2
  "$HELM" template "$release" "$RB" "${kv[@]}" -n "$namespace" "$@" \
    --show-only templates/rbac.yaml --show-only templates/namespace-guard.yaml 2>/dev/null | grep -v '^# Source:'
}
if umbrella_rbac storeplane storeplane-system >"$work/umbrella.yaml" \
  && standalone_rbac storeplane storeplane-system >"$work/standalone.yaml" \
  && umbrella_rbac sp shop --set rbac.serviceAccount.name=custom --set rbac.storeManagerRole=sm \
    --set rbac.storeInstallerRole=si --set rbac.storeNamespacePrefix=shop- >"$work/umbrella-set.yaml" \
  && standalone_rbac sp shop --set serviceAccount.name=custom --set storeManagerRole=sm \
    --set storeInstallerRole=si --set storeNamespacePrefix=shop- >"$work/standalone-set.yaml" \
  && [ "$(grep -c '^kind:' "$work/umbrella.yaml")" -eq 6 ] \
  && diff "$work/umbrella.yaml" "$work/standalone.yaml" >"$out" && diff "$work/umbrella-set.yaml" "$work/standalone-set.yaml" >"$out"; then
  report 0 "backstage-storeplane: renders the RBAC and guard of storeplane-rbac (defaults and every rbac.* value)"
else
  report 1 "backstage-storeplane: renders the RBAC and guard of storeplane-rbac (defaults and every rbac.* value)"
fi
# The names and subjects it rendered before the RBAC moved into its own chart.
if "$HELM" template backstage "$BS" "${kv[@]}" -n backstage "${pg[@]}" >"$out" 2>/dev/null \
  && grep -q '^  name: backstage-controller$' "$out" && grep -q '^  name: backstage-store-manager$' "$out" \
  && grep -q '^  name: backstage-store-installer$' "$out" && grep -q '^  name: backstage-store-namespaces$' "$out" \
  && grep -A3 '^subjects:' "$out" | grep -q 'name: backstage$' && grep -A3 '^subjects:' "$out" | grep -q 'namespace: backstage$' \
  && grep -q "system:serviceaccount:backstage:backstage" "$out" && [ "$(grep -c '^kind: ServiceAccount$' "$out")" -eq 1 ]; then
  report 0 "backstage-storeplane: default names: <release>-controller/-store-manager/-store-installer bound to the chart's ServiceAccount"
else
  report 1 "backstage-storeplane: default names: <release>-controller/-store-manager/-store-installer bound to the chart's ServiceAccount"
fi
if "$HELM" template backstage "$BS" "${kv[@]}" -n backstage "${pg[@]}" --set rbac.create=false \
  --set rbac.serviceAccount.name=bs --set rbac.storeManagerRole=sm --set rbac.storeInstallerRole=si >"$out" 2>/dev/null \
  && ! grep -Eq '^kind: (ClusterRole|ClusterRoleBinding|ValidatingAdmissionPolicy)$' "$out" \
  && grep -q 'storeManagerClusterRole: sm' "$out" && grep -q 'storeInstallerClusterRole: si' "$out" \
  && grep -q 'serviceAccountName: bs' "$out"; then
  report 0 "backstage-storeplane: rbac.create=false uses a separate storeplane-rbac release's names"
else
  report 1 "backstage-storeplane: rbac.create=false uses a separate storeplane-rbac release's names"
fi
expect_fail "backstage-storeplane: rbac.* is checked by storeplane-rbac's schema" "additional properties 'bogus'" \
  "$HELM" template backstage "$BS" "${kv[@]}" "${pg[@]}" --set rbac.bogus=1
expect_fail "backstage-storeplane: serviceAccount.name moved to rbac.serviceAccount.name" "additional properties 'name'" \
  "$HELM" template backstage "$BS" "${kv[@]}" "${pg[@]}" --set serviceAccount.name=x
# What an operator installs from a packaged umbrella chart carries the dependency's content.
if "$HELM" package "$BS" -d "$work" >"$out" 2>&1 \
  && "$HELM" template backstage "$work"/backstage-storeplane-*.tgz "${kv[@]}" -n backstage "${pg[@]}" >"$out" 2>&1 \
  && [ "$(grep -c '^kind: ClusterRole$' "$out")" -eq 3 ]; then
  report 0 "backstage-storeplane: helm package bundles storeplane-rbac"
else
  report 1 "backstage-storeplane: helm package bundles storeplane-rbac"
fi
expect_render "backstage-storeplane: appConfig is merged over the generated config" \
  "baseUrl: https://override.example.com" backstage "$BS" "${kv[@]}" "${pg[@]}" --set baseUrl=https://b.example.com \
  --set appConfig.app.baseUrl=https://override.example.com --show-only templates/configmap.yaml
expect_fail "backstage-storeplane: refuses a cluster without ValidatingAdmissionPolicy (Kubernetes 1.29)" \
  "has no admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy API.*rbac.namespaceGuard.enabled" \
  "$HELM" template backstage "$BS" --kube-version 1.29.0 "${pg[@]}"
if "$HELM" template backstage "$BS" --kube-version 1.29.0 "${pg[@]}" --set rbac.namespaceGuard.enabled=false >"$out" 2>&1 \
  && ! grep -q '^kind: ValidatingAdmissionPolicy' "$out" && grep -q '^kind: ClusterRole$' "$out"; then
  report 0 "backstage-storeplane: rbac.namespaceGuard.enabled=false is the explicit opt-out on older clusters"
else
  report 1 "backstage-storeplane: rbac.namespaceGuard.enabled=false is the explicit opt-out on older clusters"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
