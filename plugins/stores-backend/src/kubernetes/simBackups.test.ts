/*
 * The sim really runs a store's backup and restore Jobs (mariadb images) against the
 * throwaway MariaDB, and a busybox httpd reader pod serves the backup file through the API
 * server's pod proxy: the Jobs are the product's own (backupResources.ts, with the WooCommerce
 * engine's database), the reader pod has the shape of the download contract's.
 */
import { ConfigReader } from '@backstage/config';
import { KubeConfig } from '@kubernetes/client-node';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  simDatabaseName,
  startTestCluster,
  TestCluster,
  testClusterAvailability,
} from '@internal/test-cluster';
import { createWooCommerceEngine } from '../engines/woocommerceEngine';
import {
  backupJobManifest,
  BACKUPS_PVC,
  restoreJobManifest,
} from './backupResources';
import { CREDENTIALS_SECRET, StoreIdentity } from './storeResources';
import { backupReaderPodManifest, BACKUP_READER_POD } from './backupReader';
import { readStoresConfig } from '../config/readStoresConfig';

const availability = testClusterAvailability();
if (!availability.available && process.env.STOREPLANE_REQUIRE_CLUSTER) {
  throw new Error(
    `real test control plane unavailable: ${availability.reason}`,
  );
}

const NS = 'sim-backups';
const store: StoreIdentity = {
  id: 'sim-backups',
  namespace: NS,
  owner: 'group:default/team-a',
  engine: 'woocommerce',
  plan: 'small',
};
// The WooCommerce engine's database, as the reconciler's backup and restore Jobs reach it.
const engineDatabase = createWooCommerceEngine().databaseBackup!;

// The reader pod a download creates, with the shipped default image.
const readerPod = backupReaderPodManifest({
  store,
  image: readStoresConfig(new ConfigReader({})).backups.readerImage,
  runAsUser: engineDatabase.runAsUser,
});

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function api(
  kc: KubeConfig,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<Response> {
  const url = new URL(urlPath, kc.getCurrentCluster()!.server);
  const options: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    agent: false,
  };
  await kc.applyToHTTPSOptions(options);
  return await new Promise((resolve, reject) => {
    const req = https.request(options, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

const describeWithCluster = availability.available ? describe : describe.skip;

describeWithCluster("the sim's volumes, database Jobs and file server", () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  const created = (r: Response) => {
    if (r.status !== 201) throw new Error(`HTTP ${r.status}: ${r.body}`);
  };
  const create = async (resource: string, manifest: unknown) =>
    created(
      await api(kc, 'POST', `/${resource}`.replace('{ns}', NS), manifest),
    );

  /** The Job's outcome and its pod's termination message. */
  async function finished(job: string) {
    const condition = await until(`Job ${job}`, async () => {
      const r = await api(
        kc,
        'GET',
        `/apis/batch/v1/namespaces/${NS}/jobs/${job}`,
      );
      const conditions: Array<{ type: string; status: string }> =
        JSON.parse(r.body.toString()).status?.conditions ?? [];
      return conditions.find(
        c =>
          (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      )?.type;
    });
    const pods = await api(
      kc,
      'GET',
      `/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3D${job}`,
    );
    const pod = JSON.parse(pods.body.toString()).items[0];
    return {
      condition,
      message: pod.status.containerStatuses[0].state.terminated.message as
        | string
        | undefined,
    };
  }

  beforeAll(async () => {
    cluster = await startTestCluster();
    if (!cluster.mariadb) {
      const reason =
        "no throwaway MariaDB: install Debian's mariadb-server (mariadbd, mariadb-install-db, mariadb)";
      if (process.env.STOREPLANE_REQUIRE_CLUSTER) throw new Error(reason);
      // eslint-disable-next-line no-console
      console.warn(`SKIPPING the sim's backup checks: ${reason}`);
      return;
    }
    kc = new KubeConfig();
    kc.loadFromFile(cluster.adminKubeconfigPath);
    await create('api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    await until('the default ServiceAccount', async () =>
      (
        await api(kc, 'GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)
      ).status === 200
        ? true
        : undefined,
    );
    await create('api/v1/namespaces/{ns}/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CREDENTIALS_SECRET },
      stringData: { [engineDatabase.passwordKey]: "s3cret'pw" },
    });
    await create('api/v1/namespaces/{ns}/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: BACKUPS_PVC },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    });
  }, 5 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('dumps the namespace database, serves the file and restores it', async () => {
    if (!cluster.mariadb) return;
    const database = simDatabaseName(NS, 'wordpress');
    await create(
      'apis/batch/v1/namespaces/{ns}/jobs',
      backupJobManifest({
        store,
        backup: engineDatabase,
        backupId: 'b1',
        expiredFiles: ['/backups/expired.sql.gz'],
      }),
    );
    const backup = await finished('backup-b1');
    expect(backup.condition).toBe('Complete');
    expect(backup.message).toMatch(/^\d+\n?$/);
    const size = Number(backup.message!.trim());

    await create('api/v1/namespaces/{ns}/pods', readerPod);
    await until('the reader pod Ready', async () => {
      const pod = JSON.parse(
        (
          await api(
            kc,
            'GET',
            `/api/v1/namespaces/${NS}/pods/${BACKUP_READER_POD}`,
          )
        ).body.toString(),
      );
      return pod.status?.conditions?.some(
        (c: { type: string; status: string }) =>
          c.type === 'Ready' && c.status === 'True',
      )
        ? true
        : undefined;
    });
    const proxy = `/api/v1/namespaces/${NS}/pods/${BACKUP_READER_POD}:8080/proxy`;
    const file = await api(kc, 'GET', `${proxy}/b1.sql.gz`);
    expect(file.status).toBe(200);
    expect(Number(file.headers['content-length'])).toBe(size);
    expect(file.body.length).toBe(size);
    const dump = gunzipSync(file.body).toString();
    expect(dump).toContain(`INSERT INTO \`${'storeplane_sim'}\` VALUES`);
    expect(dump).toContain(`('marker','${NS}')`);
    expect((await api(kc, 'GET', `${proxy}/missing.sql.gz`)).status).toBe(404);
    const listing = await api(kc, 'GET', `${proxy}/`);
    expect(listing.status).toBe(404);
    expect(listing.body.toString()).not.toContain('b1.sql.gz');

    await cluster.setSimMarker(NS, 'wordpress', 'changed after the backup');
    expect(await cluster.simMarker(NS, 'wordpress')).toBe(
      'changed after the backup',
    );
    await create(
      'apis/batch/v1/namespaces/{ns}/jobs',
      restoreJobManifest({ store, backup: engineDatabase, backupId: 'b1' }),
    );
    expect(await finished('restore-b1')).toEqual({
      condition: 'Complete',
      message: 'restored\n',
    });
    expect(await cluster.simMarker(NS, 'wordpress')).toBe(NS);
    expect(
      await cluster.mariadbQuery(
        `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${database}';`,
      ),
    ).toBe('1\n');

    // A failing run: Failed, and its output is the termination message.
    await create(
      'apis/batch/v1/namespaces/{ns}/jobs',
      restoreJobManifest({
        store,
        backup: engineDatabase,
        backupId: 'missing',
      }),
    );
    const failed = await finished('restore-missing');
    expect(failed.condition).toBe('Failed');
    expect(failed.message).toMatch(
      /missing\.sql\.gz is missing or empty: nothing was restored/,
    );
  }, 120_000);

  it("gives a claim's volume a directory, deleted with the claim", async () => {
    if (!cluster.mariadb) return;
    await create('api/v1/namespaces/{ns}/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'scratch' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Mi' } },
      },
    });
    const claimPath = `/api/v1/namespaces/${NS}/persistentvolumeclaims/scratch`;
    const volume = await until('the claim bound', async () => {
      const claim = JSON.parse(
        (await api(kc, 'GET', claimPath)).body.toString(),
      );
      return claim.status?.phase === 'Bound'
        ? claim.spec.volumeName
        : undefined;
    });
    // The sim's work dir is the cluster dir's sim/ (startTestCluster).
    const volumeDir = path.join(
      path.dirname(cluster.logs()),
      'sim',
      'volumes',
      volume,
    );
    expect(fs.statSync(volumeDir).isDirectory()).toBe(true);
    expect((await api(kc, 'DELETE', claimPath)).status).toBe(200);
    await until('the volume directory removed', async () =>
      fs.existsSync(volumeDir) ? undefined : true,
    );
  }, 60_000);
});
