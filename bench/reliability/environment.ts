import { startTestCluster, TestCluster } from '@internal/test-cluster';
import knexFactory, { Knex } from 'knex';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubernetesClient } from '../../plugins/stores-backend/src/kubernetes/KubernetesClient';
import {
  kubernetesClientFromFile,
  renderStoreplaneRbac,
  STOREPLANE_NAMESPACE,
} from '../../plugins/stores-backend/src/__testUtils__/realCluster';
import { OWNER } from './owner';

export const BENCH_TOKEN = 'reliability-bench-0123456789abcdef';
export const BENCH_SUBJECT = 'reliability-bench';
export { OWNER };

/** The in-cluster health check's stand-in; `onRequest` may stop a backend mid-check. */
export interface HealthStandIn {
  url: string;
  onRequest: ((namespace: string) => Promise<boolean>) | undefined;
  close(): Promise<void>;
}

async function startHealthStandIn(): Promise<HealthStandIn> {
  const standIn: HealthStandIn = {
    url: '',
    onRequest: undefined,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const namespace = (req.url ?? '').split('/')[1];
    (standIn.onRequest?.(namespace) ?? Promise.resolve(false)).then(hit => {
      if (hit) {
        res.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>WordPress stand-in</html>');
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () => {
    server.closeAllConnections();
    return new Promise(resolve => server.close(() => resolve()));
  };
  return standIn;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The real test control plane with Storeplane's RBAC, PostgreSQL, and the health stand-in. */
export interface BenchEnvironment {
  cluster: TestCluster;
  admin: KubernetesClient;
  rbac: ReturnType<typeof renderStoreplaneRbac>;
  serviceAccountToken: string;
  ca: Buffer;
  postgres: string;
  health: HealthStandIn;
  workDir: string;
  close(): Promise<void>;
}

export async function startEnvironment(): Promise<BenchEnvironment> {
  const postgres =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!postgres) {
    throw new Error(
      'No PostgreSQL: run the bench through scripts/with-postgres.sh (it sets BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING)',
    );
  }
  const cluster = await startTestCluster();
  const admin = kubernetesClientFromFile(cluster.adminKubeconfigPath);
  await admin.apply({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: STOREPLANE_NAMESPACE },
  });
  const rbac = renderStoreplaneRbac();
  for (const object of rbac.objects) await admin.apply(object);
  const kubeconfig = JSON.parse(
    readFileSync(
      await cluster.kubeconfigForServiceAccount(
        STOREPLANE_NAMESPACE,
        rbac.serviceAccount,
      ),
      'utf8',
    ),
  );
  const health = await startHealthStandIn();
  const workDir = mkdtempSync(
    path.join(os.tmpdir(), 'storeplane-reliability-'),
  );
  return {
    cluster,
    admin,
    rbac,
    serviceAccountToken: kubeconfig.users[0].user.token,
    ca: Buffer.from(
      kubeconfig.clusters[0].cluster['certificate-authority-data'],
      'base64',
    ),
    postgres,
    health,
    workDir,
    close: async () => {
      await health.close();
      await cluster.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** The `backend` section of a bench backend: loopback, its database, a static service token. */
export function benchBackendSection(
  port: number,
  database: Record<string, unknown>,
  access: { token: string; subject: string } = {
    token: BENCH_TOKEN,
    subject: BENCH_SUBJECT,
  },
) {
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    listen: { port, host: '127.0.0.1' },
    database,
    auth: { externalAccess: [{ type: 'static', options: access }] },
  };
}

/** Store limits a bench never reaches. */
export const UNREACHED_LIMITS = {
  maxActiveStoresPerUser: 100000,
  maxActiveStoresPerOwner: 100000,
  createRate: { count: 100000, window: { hours: 1 } },
};

/** app-config of one bench backend: the stores plugin on PostgreSQL, talking to `kubeUrl`. */
export function backendConfig(
  env: BenchEnvironment,
  options: {
    port: number;
    databasePrefix: string;
    /** The API server, or a proxy in front of it (http). */
    kubeUrl: string;
    reconciler?: Record<string, unknown>;
  },
) {
  const viaProxy = options.kubeUrl.startsWith('http:');
  return {
    backend: benchBackendSection(options.port, {
      client: 'pg',
      connection: env.postgres,
      prefix: options.databasePrefix,
    }),
    permission: { enabled: false },
    storeplane: {
      kubernetes: {
        source: 'url',
        url: options.kubeUrl,
        token: env.serviceAccountToken,
        ...(viaProxy
          ? { skipTLSVerify: true }
          : { caData: env.ca.toString('base64') }),
        requestTimeout: { seconds: 3 },
        rbac: {
          serviceAccount: {
            namespace: STOREPLANE_NAMESPACE,
            name: env.rbac.serviceAccount,
          },
          storeManagerClusterRole: env.rbac.storeManagerRole,
          storeInstallerClusterRole: env.rbac.storeInstallerRole,
        },
      },
      ingress: { baseDomain: 'stores.example.com' },
      healthCheck: {
        mode: 'url',
        urlTemplate: `${env.health.url}/{namespace}`,
        timeout: { seconds: 3 },
      },
      helm: { timeout: { minutes: 3 } },
      reconciler: {
        frequency: { seconds: 1 },
        concurrency: 4,
        lease: { seconds: 10 },
        maxAttempts: 30,
        initialBackoff: { milliseconds: 500 },
        maxBackoff: { seconds: 3 },
        stepTimeout: { minutes: 5 },
        ...options.reconciler,
      },
      // Each scenario has its own database on the one cluster: a sweep would take the other
      // scenarios' namespaces for orphans. The invariant is checked by the bench instead.
      orphanSweep: { enabled: false },
      // The bench drives the API with a static external access token (a service principal).
      permissions: { allowedServices: [BENCH_SUBJECT] },
      limits: UNREACHED_LIMITS,
      plans: {
        small: { cpu: '250m', memory: '256Mi', storage: '2Gi', replicas: 1 },
      },
    },
  };
}

/** The stores plugin's database of a scenario, for reading what happened. */
export function storesDatabase(env: BenchEnvironment, prefix: string): Knex {
  return knexFactory({
    client: 'pg',
    connection: `${env.postgres}/${prefix}stores`,
    pool: { min: 0, max: 2 },
  });
}

/** POST /api/stores/stores with the bench's service token; retried while the backend is down. */
export async function createStoreViaApi(
  baseUrl: string,
  name: string,
): Promise<{ id: string; namespace: string }> {
  return callApi(baseUrl, 'POST', '/api/stores/stores', {
    name,
    owner: OWNER,
    plan: 'small',
  });
}

export async function deleteStoreViaApi(baseUrl: string, id: string) {
  return callApi(baseUrl, 'DELETE', `/api/stores/stores/${id}`);
}

async function callApi(
  baseUrl: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<any> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const response = await fetch(`${baseUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${BENCH_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!response.ok) {
        throw new Error(
          `${method} ${route}: HTTP ${
            response.status
          } ${await response.text()}`,
        );
      }
      return await response.json();
    } catch (error) {
      lastError = error;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  }
  throw lastError;
}

/** Storeplane's namespaces in the cluster whose name starts with `prefix`. */
export async function storeNamespaces(
  env: BenchEnvironment,
  prefix: string,
): Promise<string[]> {
  return (
    await env.admin.list(
      'v1',
      'Namespace',
      undefined,
      'app.kubernetes.io/managed-by=storeplane',
    )
  )
    .map(ns => ns.metadata!.name!)
    .filter(name => name.startsWith(prefix));
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs / 1000} s waiting for ${what}`,
      );
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}
