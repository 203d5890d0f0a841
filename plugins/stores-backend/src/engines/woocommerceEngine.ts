import { resolvePackagePath } from '@backstage/backend-plugin-api';
import {
  KUBERNETES_ID_LABEL,
  StorePlan,
} from '@storeplane/plugin-stores-common';
import { randomBytes } from 'node:crypto';
import { formatMebibytes, formatMillicores, parseQuantity } from './quantity';
import { EngineStoreInput, ResourceBudget, StoreEngine } from './types';

const RELEASE_NAME = 'woocommerce';

// Fixed sizes of the parts that do not scale with the plan.
const SETUP_JOB = {
  requestsCpu: 0.1,
  requestsMemory: 256 * 1024 ** 2,
  limitsCpu: 0.5,
  limitsMemory: 512 * 1024 ** 2,
};
const MIN_DB_CPU = 0.1;

interface Sizes {
  wordpress: {
    requestsCpu: number;
    requestsMemory: number;
    limitsCpu: number;
    limitsMemory: number;
  };
  mariadb: {
    requestsCpu: number;
    requestsMemory: number;
    limitsCpu: number;
    limitsMemory: number;
  };
  storage: number;
  replicas: number;
}

/** How a plan sizes the chart: limits are twice the requests; the database gets half the CPU. */
function sizesFor(plan: StorePlan): Sizes {
  const cpu = parseQuantity(plan.cpu);
  const memory = parseQuantity(plan.memory);
  const dbCpu = Math.max(cpu / 2, MIN_DB_CPU);
  return {
    wordpress: {
      requestsCpu: cpu,
      requestsMemory: memory,
      limitsCpu: cpu * 2,
      limitsMemory: memory * 2,
    },
    mariadb: {
      requestsCpu: dbCpu,
      requestsMemory: memory,
      limitsCpu: dbCpu * 2,
      limitsMemory: memory * 2,
    },
    storage: parseQuantity(plan.storage),
    replicas: plan.replicas,
  };
}

function resources(size: Sizes['wordpress']) {
  return {
    requests: {
      cpu: formatMillicores(size.requestsCpu),
      memory: formatMebibytes(size.requestsMemory),
    },
    limits: {
      cpu: formatMillicores(size.limitsCpu),
      memory: formatMebibytes(size.limitsMemory),
    },
  };
}

const password = () => randomBytes(24).toString('base64url');

/**
 * WooCommerce on the official WordPress and MariaDB images (charts/woocommerce-store).
 *
 * @public
 */
export function createWooCommerceEngine(options?: {
  chartPath?: string;
}): StoreEngine {
  return {
    name: 'woocommerce',
    title: 'WooCommerce',
    releaseName: RELEASE_NAME,
    bundledChartPath:
      options?.chartPath ??
      resolvePackagePath(
        '@storeplane/plugin-stores-backend',
        'charts/woocommerce-store',
      ),
    workloadSelector: `app.kubernetes.io/instance=${RELEASE_NAME}`,
    healthCheck: { service: `${RELEASE_NAME}-wordpress`, port: 'http' },
    adminPath: '/wp-admin/',
    // Labels and ports of charts/woocommerce-store (Apache listens on 8080 as non-root).
    network: {
      webPodLabels: {
        'app.kubernetes.io/instance': RELEASE_NAME,
        'app.kubernetes.io/component': 'wordpress',
      },
      webPort: 8080,
      databasePodLabels: {
        'app.kubernetes.io/instance': RELEASE_NAME,
        'app.kubernetes.io/component': 'database',
      },
      databasePort: 3306,
    },

    helmValues(store: EngineStoreInput) {
      const sizes = sizesFor(store.plan);
      const storageSize = formatMebibytes(sizes.storage);
      return {
        store: { id: store.id, name: store.name, url: store.url },
        commonLabels: { [KUBERNETES_ID_LABEL]: store.kubernetesId },
        existingSecret: store.secretName,
        wordpress: {
          replicas: sizes.replicas,
          resources: resources(sizes.wordpress),
          persistence: {
            size: storageSize,
            storageClass: store.storageClass,
            accessMode: sizes.replicas > 1 ? 'ReadWriteMany' : 'ReadWriteOnce',
          },
          // ~48Mi per WooCommerce request keeps Apache under the memory limit.
          maxRequestWorkers: Math.max(
            2,
            Math.floor(sizes.wordpress.limitsMemory / (48 * 1024 ** 2)),
          ),
        },
        mariadb: {
          resources: resources(sizes.mariadb),
          persistence: { size: storageSize, storageClass: store.storageClass },
        },
        setup: { resources: resources(SETUP_JOB) },
        ingress: {
          enabled: true,
          className: store.ingress.className,
          host: store.host,
          extraHosts: store.customDomain ? [store.customDomain] : [],
          tls: {
            enabled: store.ingress.tls.enabled,
            secretName: store.ingress.tls.enabled
              ? store.ingress.tls.secretName ?? `${store.namespace}-tls`
              : '',
            extraHostsSecretName:
              store.ingress.tls.enabled && store.customDomain
                ? store.ingress.tls.customDomainSecretName ??
                  `${store.namespace}-domain-tls`
                : '',
          },
          annotations: store.ingress.annotations,
        },
      };
    },

    resourceBudget(plan: StorePlan): ResourceBudget {
      const sizes = sizesFor(plan);
      // A rolling update of a multi-replica WordPress runs one extra pod for a moment.
      const wordpressPods =
        sizes.replicas > 1 ? sizes.replicas + 1 : sizes.replicas;
      const parts = [
        { ...sizes.wordpress, count: wordpressPods },
        { ...sizes.mariadb, count: 1 },
        { ...SETUP_JOB, count: 1 },
      ];
      const sum = (key: keyof typeof SETUP_JOB) =>
        parts.reduce((total, part) => total + part[key] * part.count, 0);
      return {
        requestsCpu: sum('requestsCpu'),
        requestsMemory: sum('requestsMemory'),
        limitsCpu: sum('limitsCpu'),
        limitsMemory: sum('limitsMemory'),
        storage: sizes.storage * 2,
        persistentVolumeClaims: 2,
        pods: wordpressPods + 2,
        maxContainerCpu: Math.max(...parts.map(p => p.limitsCpu)),
        maxContainerMemory: Math.max(...parts.map(p => p.limitsMemory)),
      };
    },

    planChangeProblem(from: StorePlan, to: StorePlan) {
      const fromSizes = sizesFor(from);
      const toSizes = sizesFor(to);
      if (fromSizes.storage !== toSizes.storage) {
        return `plan ${to.name} has ${to.storage} of storage and the store's volumes were made for ${from.storage} (plan ${from.name}); volumes are not resized by an upgrade (the database's is part of its StatefulSet, which cannot change), so choose a plan with ${from.storage} or create a new store`;
      }
      if (fromSizes.replicas > 1 !== toSizes.replicas > 1) {
        return `plan ${to.name} runs ${to.replicas} WordPress replica(s) and plan ${from.name} ${from.replicas}: several replicas share a ReadWriteMany volume and one replica has a ReadWriteOnce volume, and a volume's access mode cannot change, so create a new store on plan ${to.name}`;
      }
      return undefined;
    },

    generateCredentials(store: EngineStoreInput) {
      return {
        data: {
          'database-password': password(),
          'database-root-password': password(),
          'admin-username': 'admin',
          'admin-password': password(),
          'admin-email': `admin@${store.host}`,
        },
      };
    },

    adminCredentials(secretData: Record<string, string>) {
      return {
        username: secretData['admin-username'],
        password: secretData['admin-password'],
      };
    },
  };
}
