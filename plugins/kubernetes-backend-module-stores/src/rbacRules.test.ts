// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the contract is with the Kubernetes plugin's own defaults
import { DEFAULT_OBJECTS } from '@backstage/plugin-kubernetes-backend';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const rbacRules = parse(
  readFileSync(
    path.resolve(
      __dirname,
      '../../../charts/storeplane-rbac/files/rbac-rules.yaml',
    ),
    'utf8',
  ),
);

describe("Storeplane's role and the Kubernetes tab", () => {
  it('may list exactly the object types the Kubernetes plugin fetches by default, and do nothing else with them', () => {
    const granted = (
      rbacRules.storeManager.kubernetesTabRules as Array<{
        apiGroups: string[];
        resources: string[];
        verbs: string[];
      }>
    ).flatMap(rule => {
      expect(rule.verbs).toEqual(['list']);
      return rule.apiGroups.flatMap(group =>
        rule.resources.map(resource => `${group}/${resource}`),
      );
    });
    const fetched = DEFAULT_OBJECTS.map(o => `${o.group}/${o.plural}`);
    expect([...granted].sort()).toEqual([...fetched].sort());
  });
});
