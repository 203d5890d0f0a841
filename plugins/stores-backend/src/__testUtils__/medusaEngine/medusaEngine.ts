/**
 * A second store engine, written the way an adopter's module would be: only the public exports
 * of @storeplane/plugin-stores-backend and -common. A test fixture that proves the engine
 * extension point; not shipped (package.json `files` has no src/__testUtils__).
 */
import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  EngineStoreInput,
  ResourceBudget,
  StoreEngine,
  storesEnginesExtensionPoint,
} from '@storeplane/plugin-stores-backend';
import {
  KUBERNETES_ID_LABEL,
  StorePlan,
} from '@storeplane/plugin-stores-common';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const RELEASE_NAME = 'medusa';
const MEDUSA_CHART = path.join(__dirname, 'charts/medusa-store');
const UNITS: Record<string, number> = {
  m: 1e-3,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** CPU in cores or bytes from the plan's Kubernetes quantities (m, Ki, Mi, Gi, or none). */
function quantity(value: string): number {
  const [, number, unit] = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(value) ?? [];
  if (number === undefined) throw new Error(`Unsupported quantity ${value}`);
  return Number(number) * (unit ? UNITS[unit] : 1);
}

interface Size {
  requestsCpu: number;
  requestsMemory: number;
  limitsCpu: number;
  limitsMemory: number;
}

/** The server gets the plan; PostgreSQL half its CPU (at least 0.1) and the same memory. */
function sizesFor(plan: StorePlan): { server: Size; postgres: Size } {
  const cpu = quantity(plan.cpu);
  const memory = quantity(plan.memory);
  const dbCpu = Math.max(cpu / 2, 0.1);
  const size = (c: number): Size => ({
    requestsCpu: c,
    requestsMemory: memory,
    limitsCpu: c * 2,
    limitsMemory: memory * 2,
  });
  return { server: size(cpu), postgres: size(dbCpu) };
}

const resources = (size: Size) => ({
  requests: {
    cpu: `${Math.round(size.requestsCpu * 1000)}m`,
    memory: `${Math.round(size.requestsMemory / 1024 ** 2)}Mi`,
  },
  limits: {
    cpu: `${Math.round(size.limitsCpu * 1000)}m`,
    memory: `${Math.round(size.limitsMemory / 1024 ** 2)}Mi`,
  },
});

const secret = () => randomBytes(24).toString('base64url');

export function createMedusaEngine(): StoreEngine {
  return {
    name: 'medusa',
    title: 'Medusa',
    releaseName: RELEASE_NAME,
    bundledChartPath: MEDUSA_CHART,
    workloadSelector: `app.kubernetes.io/instance=${RELEASE_NAME}`,
    healthCheck: {
      service: `${RELEASE_NAME}-server`,
      port: 'http',
      path: '/health',
    },
    adminPath: '/app',
    network: {
      webPodLabels: {
        'app.kubernetes.io/instance': RELEASE_NAME,
        'app.kubernetes.io/component': 'server',
      },
      webPort: 9000,
      databasePodLabels: {
        'app.kubernetes.io/instance': RELEASE_NAME,
        'app.kubernetes.io/component': 'database',
      },
      databasePort: 5432,
    },

    helmValues(store: EngineStoreInput) {
      const sizes = sizesFor(store.plan);
      return {
        store: { id: store.id, url: store.url },
        commonLabels: { [KUBERNETES_ID_LABEL]: store.kubernetesId },
        existingSecret: store.secretName,
        server: {
          replicas: store.plan.replicas,
          resources: resources(sizes.server),
        },
        postgres: {
          resources: resources(sizes.postgres),
          persistence: {
            size: store.plan.storage,
            storageClass: store.storageClass,
          },
        },
        ingress: {
          className: store.ingress.className,
          host: store.host,
          tls: {
            enabled: store.ingress.tls.enabled,
            secretName: store.ingress.tls.enabled
              ? store.ingress.tls.secretName ?? `${store.namespace}-tls`
              : '',
          },
          annotations: store.ingress.annotations,
        },
      };
    },

    resourceBudget(plan: StorePlan): ResourceBudget {
      const { server, postgres } = sizesFor(plan);
      // A rolling update runs one extra server pod for a moment.
      const serverPods = plan.replicas + 1;
      const total = (key: keyof Size) =>
        server[key] * serverPods + postgres[key];
      return {
        requestsCpu: total('requestsCpu'),
        requestsMemory: total('requestsMemory'),
        limitsCpu: total('limitsCpu'),
        limitsMemory: total('limitsMemory'),
        storage: quantity(plan.storage),
        persistentVolumeClaims: 1,
        pods: serverPods + 1,
        maxContainerCpu: Math.max(server.limitsCpu, postgres.limitsCpu),
        maxContainerMemory: Math.max(
          server.limitsMemory,
          postgres.limitsMemory,
        ),
      };
    },

    generateCredentials(store: EngineStoreInput) {
      return {
        data: {
          'database-password': secret(),
          'jwt-secret': secret(),
          'cookie-secret': secret(),
          'admin-email': `admin@${store.host}`,
          'admin-password': secret(),
        },
      };
    },

    adminCredentials(secretData: Record<string, string>) {
      return {
        username: secretData['admin-email'],
        password: secretData['admin-password'],
      };
    },
  };
}

/** The backend module an adopter would install: adds the Medusa engine to the stores plugin. */
export const medusaEngineModule = createBackendModule({
  pluginId: 'stores',
  moduleId: 'medusa-engine',
  register(env) {
    env.registerInit({
      deps: { engines: storesEnginesExtensionPoint },
      async init({ engines }) {
        engines.addEngine(createMedusaEngine());
      },
    });
  },
});
