import { backupReaderPodManifest } from './backupReader';
import { networkPolicyManifests } from './storeResources';
import { readStoresConfig } from '../config/readStoresConfig';
import { ConfigReader } from '@backstage/config';
import { createWooCommerceEngine } from '../engines/woocommerceEngine';

const store = {
  id: 'shop-x1y2z',
  namespace: 'store-shop-x1y2z',
  owner: 'group:default/shop-team',
  engine: 'woocommerce',
  plan: 'small',
};

describe('the backup reader pod', () => {
  const pod = backupReaderPodManifest({
    store,
    image: 'busybox:1.37',
    runAsUser: 999,
  }) as any;

  it('serves the backups volume read-only with busybox httpd on port 8080, for a bounded time', () => {
    expect(pod.metadata).toMatchObject({
      name: 'backup-reader',
      namespace: store.namespace,
      labels: {
        'storeplane.io/role': 'backup-reader',
        'storeplane.io/store-id': store.id,
      },
    });
    const [container] = pod.spec.containers;
    expect(container.command).toEqual([
      'httpd',
      '-f',
      '-p',
      '8080',
      '-h',
      '/backups',
    ]);
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'backups', mountPath: '/backups', readOnly: true },
    ]);
    expect(pod.spec.volumes).toEqual([
      {
        name: 'backups',
        persistentVolumeClaim: {
          claimName: 'storeplane-backups',
          readOnly: true,
        },
      },
    ]);
    expect(pod.spec.activeDeadlineSeconds).toBe(3600);
    expect(pod.spec.restartPolicy).toBe('Never');
  });

  it('meets the restricted Pod Security level and has no API token', () => {
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it("is reachable only from the health check's source addresses, on its port", () => {
    const config = readStoresConfig(
      new ConfigReader({
        storeplane: { network: { healthCheckSourceCidrs: ['10.0.0.0/24'] } },
      }),
    );
    const policy = networkPolicyManifests(
      store,
      config.network,
      createWooCommerceEngine({ chartPath: '/unused' }).network,
    ).find(p => p.metadata!.name === 'storeplane-allow-backup-reader') as any;
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { 'storeplane.io/role': 'backup-reader' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ ipBlock: { cidr: '10.0.0.0/24' } }],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ],
    });
  });

  it('admits nobody when no source addresses are configured (an empty `from` would admit everyone)', () => {
    const policy = networkPolicyManifests(
      store,
      readStoresConfig(new ConfigReader({})).network,
      createWooCommerceEngine({ chartPath: '/unused' }).network,
    ).find(p => p.metadata!.name === 'storeplane-allow-backup-reader') as any;
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { 'storeplane.io/role': 'backup-reader' } },
      policyTypes: ['Ingress'],
    });
  });
});
