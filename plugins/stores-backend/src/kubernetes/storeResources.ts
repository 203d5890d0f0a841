import { KubernetesObject } from '@kubernetes/client-node';
import {
  KUBERNETES_ID_LABEL,
  storeKubernetesId,
} from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import { formatMebibytes, formatMillicores } from '../engines/quantity';
import { ResourceBudget, StoreEngine } from '../engines/types';

/** The store fields the manifests need. */
export interface StoreIdentity {
  id: string;
  namespace: string;
  owner: string;
  engine: string;
  plan: string;
}

export const CREDENTIALS_SECRET = 'storeplane-credentials';
export const HELM_SERVICE_ACCOUNT = 'storeplane-helm';
export const CHART_CONFIGMAP = 'storeplane-chart';
export const VALUES_CONFIGMAP = 'storeplane-values';
export const CHART_ARCHIVE_KEY = 'chart.tgz';
export const QUOTA_NAME = 'storeplane-quota';
const MANAGER_BINDING = 'storeplane-store-manager';
const INSTALLER_BINDING = 'storeplane-store-installer';

/** Label values allow [A-Za-z0-9._-], at most 63 characters. */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]+/g, '.')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
    .slice(0, 63);
}

export function storeLabels(store: StoreIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'storeplane',
    'app.kubernetes.io/part-of': 'storeplane',
    'app.kubernetes.io/name': store.engine,
    'app.kubernetes.io/instance': store.namespace,
    'storeplane.io/store-id': store.id,
    'storeplane.io/owner': labelValue(store.owner),
    'storeplane.io/plan': labelValue(store.plan),
    // The Helm Jobs' pods show on the store entity's Kubernetes tab too.
    [KUBERNETES_ID_LABEL]: storeKubernetesId(store.id),
  };
}

function metadata(store: StoreIdentity, name: string) {
  return { name, namespace: store.namespace, labels: storeLabels(store) };
}

/**
 * Pod Security level of store namespaces. Every workload of the store chart and the Helm Job
 * meet it (non-root, no capabilities, RuntimeDefault seccomp, no privilege escalation). The
 * chart's admission policy refuses any other level, so the two must stay the same.
 */
export const STORE_POD_SECURITY_LEVEL = 'restricted';

export function namespaceManifest(store: StoreIdentity): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: store.namespace,
      labels: {
        ...storeLabels(store),
        'pod-security.kubernetes.io/enforce': STORE_POD_SECURITY_LEVEL,
        'pod-security.kubernetes.io/warn': STORE_POD_SECURITY_LEVEL,
        'pod-security.kubernetes.io/audit': STORE_POD_SECURITY_LEVEL,
      },
      annotations: { 'storeplane.io/owner-ref': store.owner },
    },
  };
}

/** The Helm Job's container (helmJobManifest), in the units of ResourceBudget. */
const HELM_JOB_CONTAINER = {
  requestsCpu: 0.1,
  requestsMemory: 128 * 1024 ** 2,
  limitsCpu: 0.5,
  limitsMemory: 256 * 1024 ** 2,
};

/**
 * The backup reader's container (backupReader.ts), in the units of ResourceBudget. Here, not
 * imported from there, because backupReader.ts builds on this module.
 */
export const BACKUP_READER_CONTAINER = {
  requestsCpu: 0.01,
  requestsMemory: 16 * 1024 ** 2,
  limitsCpu: 0.1,
  limitsMemory: 32 * 1024 ** 2,
};

/**
 * What a store namespace must admit: the engine's release and, beside it, Storeplane's own
 * pods: the one Helm Job that installs, upgrades or uninstalls it, and the backup reader that
 * serves downloads. Engines size only their own release.
 */
export function namespaceBudget(engineBudget: ResourceBudget): ResourceBudget {
  const own = [HELM_JOB_CONTAINER, BACKUP_READER_CONTAINER];
  const plus = (key: keyof typeof HELM_JOB_CONTAINER) =>
    engineBudget[key] + own.reduce((total, part) => total + part[key], 0);
  return {
    ...engineBudget,
    requestsCpu: plus('requestsCpu'),
    requestsMemory: plus('requestsMemory'),
    limitsCpu: plus('limitsCpu'),
    limitsMemory: plus('limitsMemory'),
    pods: engineBudget.pods + own.length,
    maxContainerCpu: Math.max(
      engineBudget.maxContainerCpu,
      HELM_JOB_CONTAINER.limitsCpu,
    ),
    maxContainerMemory: Math.max(
      engineBudget.maxContainerMemory,
      HELM_JOB_CONTAINER.limitsMemory,
    ),
  };
}

export function resourceQuotaManifest(
  store: StoreIdentity,
  engineBudget: ResourceBudget,
): KubernetesObject {
  const budget = namespaceBudget(engineBudget);
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: metadata(store, QUOTA_NAME),
    spec: {
      hard: {
        'requests.cpu': formatMillicores(budget.requestsCpu),
        'requests.memory': formatMebibytes(budget.requestsMemory),
        'limits.cpu': formatMillicores(budget.limitsCpu),
        'limits.memory': formatMebibytes(budget.limitsMemory),
        'requests.storage': formatMebibytes(budget.storage),
        persistentvolumeclaims: String(budget.persistentVolumeClaims),
        pods: String(budget.pods),
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  } as KubernetesObject;
}

export function limitRangeManifest(
  store: StoreIdentity,
  engineBudget: ResourceBudget,
): KubernetesObject {
  const budget = namespaceBudget(engineBudget);
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: metadata(store, 'storeplane-limits'),
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: '500m', memory: '256Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
          max: {
            cpu: formatMillicores(budget.maxContainerCpu),
            memory: formatMebibytes(budget.maxContainerMemory),
          },
        },
        {
          type: 'PersistentVolumeClaim',
          max: { storage: formatMebibytes(budget.storage) },
        },
      ],
    },
  } as KubernetesObject;
}

/**
 * Deny by default; then allow exactly: ingress controller → store, pods → their own database,
 * DNS, HTTPS to addresses outside the cluster, and the Helm Job → the API server.
 */
export function networkPolicyManifests(
  store: StoreIdentity,
  config: StoresConfig['network'],
  pods: StoreEngine['network'],
): KubernetesObject[] {
  const policy = (name: string, spec: Record<string, unknown>) =>
    ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(store, name),
      spec,
    } as KubernetesObject);
  const wordpressIngressSources: Record<string, unknown>[] = [
    {
      namespaceSelector: {
        matchLabels: config.ingressControllerNamespaceLabels,
      },
    },
    ...config.healthCheckSourceCidrs.map(cidr => ({ ipBlock: { cidr } })),
  ];
  return [
    policy('storeplane-default-deny', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    }),
    policy('storeplane-allow-ingress-controller', {
      podSelector: { matchLabels: pods.webPodLabels },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: wordpressIngressSources,
          ports: [{ protocol: 'TCP', port: pods.webPort }],
        },
      ],
    }),
    policy('storeplane-allow-database', {
      podSelector: { matchLabels: pods.databasePodLabels },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: {} }],
          ports: [{ protocol: 'TCP', port: pods.databasePort }],
        },
      ],
    }),
    policy('storeplane-allow-egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ podSelector: { matchLabels: pods.databasePodLabels } }],
          ports: [{ protocol: 'TCP', port: pods.databasePort }],
        },
        {
          to: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
              },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [{ ipBlock: { cidr: '0.0.0.0/0', except: config.clusterCidrs } }],
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ],
    }),
    // Downloads read backup files through the API server's pod proxy, which connects from the
    // same addresses as the health check's service proxy. Without any, no rule: a rule with an
    // empty `from` would admit every source to the dumps.
    policy('storeplane-allow-backup-reader', {
      podSelector: { matchLabels: { 'storeplane.io/role': 'backup-reader' } },
      policyTypes: ['Ingress'],
      ...(config.healthCheckSourceCidrs.length > 0 && {
        ingress: [
          {
            from: config.healthCheckSourceCidrs.map(cidr => ({
              ipBlock: { cidr },
            })),
            ports: [{ protocol: 'TCP', port: 8080 }],
          },
        ],
      }),
    }),
    policy('storeplane-allow-helm-to-apiserver', {
      podSelector: { matchLabels: { 'storeplane.io/role': 'helm' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: config.apiServerCidrs.map(cidr => ({ ipBlock: { cidr } })),
          ports: config.apiServerPorts.map(port => ({ protocol: 'TCP', port })),
        },
      ],
    }),
  ];
}

function roleBinding(
  store: StoreIdentity,
  name: string,
  clusterRole: string,
  subject: { namespace: string; name: string },
): KubernetesObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(store, name),
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: clusterRole,
    },
    subjects: [
      {
        kind: 'ServiceAccount',
        namespace: subject.namespace,
        name: subject.name,
      },
    ],
  } as KubernetesObject;
}

/** Binds the store-manager ClusterRole to Storeplane's own ServiceAccount in this namespace. */
export function managerRoleBindingManifest(
  store: StoreIdentity,
  clusterRole: string,
  serviceAccount: { namespace: string; name: string },
): KubernetesObject {
  return roleBinding(store, MANAGER_BINDING, clusterRole, serviceAccount);
}

export function helmServiceAccountManifest(
  store: StoreIdentity,
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(store, HELM_SERVICE_ACCOUNT),
  };
}

export function installerRoleBindingManifest(
  store: StoreIdentity,
  clusterRole: string,
): KubernetesObject {
  return roleBinding(store, INSTALLER_BINDING, clusterRole, {
    namespace: store.namespace,
    name: HELM_SERVICE_ACCOUNT,
  });
}

export function credentialsSecretManifest(
  store: StoreIdentity,
  data: Record<string, string>,
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(store, CREDENTIALS_SECRET),
    type: 'Opaque',
    stringData: data,
  } as KubernetesObject;
}

export function chartConfigMapManifest(
  store: StoreIdentity,
  chartArchiveBase64: string,
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(store, CHART_CONFIGMAP),
    binaryData: { [CHART_ARCHIVE_KEY]: chartArchiveBase64 },
  } as KubernetesObject;
}

export function valuesConfigMapManifest(
  store: StoreIdentity,
  valuesYaml: string,
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(store, VALUES_CONFIGMAP),
    data: { 'values.yaml': valuesYaml },
  } as KubernetesObject;
}

export type HelmOperation = 'install' | 'rollback' | 'uninstall';

/** Labels every Helm Job and its pods carry (pod template labels). */
export const HELM_ROLE_SELECTOR = 'storeplane.io/role=helm';

/** Helm's own release records: Secrets `sh.helm.release.v1.<release>.v<revision>`. */
export function helmReleaseRecordSelector(releaseName: string): string {
  return `owner=helm,name=${releaseName}`;
}

export function helmJobName(
  operation: HelmOperation,
  generation: number,
): string {
  return `helm-${operation}-${generation}`;
}

function helmArguments(
  operation: HelmOperation,
  options: {
    release: string;
    namespace: string;
    chartRef: string;
    helm: StoresConfig['helm'];
    rollbackRevision?: number;
  },
): string[] {
  const { release, namespace, chartRef, helm, rollbackRevision } = options;
  switch (operation) {
    case 'install':
      return [
        'upgrade',
        '--install',
        release,
        chartRef,
        ...(helm.chartSource === 'reference' && helm.chartVersion
          ? ['--version', helm.chartVersion]
          : []),
        '--namespace',
        namespace,
        '--values',
        '/values/values.yaml',
        '--timeout',
        helm.timeout,
      ];
    case 'rollback':
      return [
        'rollback',
        release,
        ...(rollbackRevision ? [String(rollbackRevision)] : []),
        '--namespace',
        namespace,
        '--wait',
        '--timeout',
        helm.timeout,
      ];
    default:
      return [
        'uninstall',
        release,
        '--namespace',
        namespace,
        '--ignore-not-found',
        '--wait',
        '--timeout',
        helm.timeout,
      ];
  }
}

/**
 * helm run inside the cluster, in the store namespace, as the namespace-scoped installer
 * ServiceAccount. Its last output lines become the termination message (FallbackToLogsOnError),
 * so the reconciler reports why it failed without reading pod logs.
 *
 * The Job runs helm exactly once (backoffLimit 0): a second pod of the same Job would be a
 * second helm run on the release. Retrying is the reconciler's job, after it has classified
 * helm's output and deleted the failed Job. The deadline lets helm reach its own --timeout
 * first, so helm, not the kubelet, ends a slow run and records it.
 */
export function helmJobManifest(options: {
  store: StoreIdentity;
  engine: StoreEngine;
  operation: HelmOperation;
  generation: number;
  helm: StoresConfig['helm'];
  /** For a rollback: the revision to return to; without it, the one before the current. */
  rollbackRevision?: number;
}): KubernetesObject {
  const { store, engine, operation, generation, helm, rollbackRevision } =
    options;
  const chartRef =
    helm.chartSource === 'bundled'
      ? `/chart/${CHART_ARCHIVE_KEY}`
      : (helm.chartReference as string);
  const args = helmArguments(operation, {
    release: engine.releaseName,
    namespace: store.namespace,
    chartRef,
    helm,
    rollbackRevision,
  });
  const volumes: Record<string, unknown>[] = [{ name: 'tmp', emptyDir: {} }];
  const volumeMounts: Record<string, unknown>[] = [
    { name: 'tmp', mountPath: '/tmp' },
  ];
  if (operation === 'install') {
    volumes.push({ name: 'values', configMap: { name: VALUES_CONFIGMAP } });
    volumeMounts.push({ name: 'values', mountPath: '/values', readOnly: true });
    if (helm.chartSource === 'bundled') {
      volumes.push({ name: 'chart', configMap: { name: CHART_CONFIGMAP } });
      volumeMounts.push({ name: 'chart', mountPath: '/chart', readOnly: true });
    }
  }
  const labels = {
    ...storeLabels(store),
    'storeplane.io/role': 'helm',
    'storeplane.io/helm-operation': operation,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: helmJobName(operation, generation),
      namespace: store.namespace,
      labels,
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: helm.timeoutSeconds + 300,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: HELM_SERVICE_ACCOUNT,
          restartPolicy: 'Never',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'helm',
              image: helm.image,
              command: ['helm'],
              args,
              env: [
                { name: 'HOME', value: '/tmp' },
                { name: 'HELM_CACHE_HOME', value: '/tmp/.cache/helm' },
                { name: 'HELM_CONFIG_HOME', value: '/tmp/.config/helm' },
                { name: 'HELM_DATA_HOME', value: '/tmp/.local/share/helm' },
              ],
              resources: {
                requests: {
                  cpu: formatMillicores(HELM_JOB_CONTAINER.requestsCpu),
                  memory: formatMebibytes(HELM_JOB_CONTAINER.requestsMemory),
                },
                limits: {
                  cpu: formatMillicores(HELM_JOB_CONTAINER.limitsCpu),
                  memory: formatMebibytes(HELM_JOB_CONTAINER.limitsMemory),
                },
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  } as KubernetesObject;
}
