import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { storeTestDatabases } from '../__testUtils__/databases';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import {
  createHarness,
  fakeKubernetesClient,
  Harness,
} from '../__testUtils__/harness';
import { OrphanSweep } from './OrphanSweep';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';
const HOUR = 3_600_000;

describe.each(databases.eachSupportedId())('OrphanSweep on %s', databaseId => {
  let fake: FakeKubernetesApi;
  let harness: Harness;
  let changes: Array<{ storeId: string; status: string }>;
  let logs: string[];

  beforeEach(async () => {
    fake = new FakeKubernetesApi();
    server.use(...fake.handlers());
    harness = await createHarness(await databases.init(databaseId));
    changes = [];
    logs = [];
  });

  const sweep = () =>
    new OrphanSweep({
      repository: harness.repository,
      kubernetes: () => fakeKubernetesClient(),
      logger: mockServices.logger.mock({
        warn: (message: string) => void logs.push(message),
      } as any),
      gracePeriodMs: HOUR,
      onChange: (storeId, status) => void changes.push({ storeId, status }),
    });

  async function readyStore(name: string) {
    const store = await harness.service.createStore(
      { name, owner: OWNER, plan: 'small' },
      USER,
    );
    await harness.runUntil(
      store.id,
      s => s?.status === 'Ready',
      30,
      () => fake.progress(),
    );
    return store;
  }

  /** A namespace as Storeplane labels it, created `ageMs` ago by the API server's clock. */
  function labelledNamespace(id: string, ageMs: number) {
    fake.objects.set(`Namespace//store-${id}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: `store-${id}`,
        labels: {
          'app.kubernetes.io/managed-by': 'storeplane',
          'storeplane.io/store-id': id,
        },
        creationTimestamp: new Date(Date.now() - ageMs).toISOString(),
      },
      status: { phase: 'Active' },
    });
  }

  it('deletes a labelled namespace without a store once it is older than the grace period, and says so', async () => {
    const kept = await readyStore('kept');
    labelledNamespace('lost-abcde', 2 * HOUR);
    labelledNamespace('young-abcde', 10 * 60_000);

    const result = await sweep().run();

    expect(result.deleted).toEqual(['store-lost-abcde']);
    expect(result.young).toEqual(['store-young-abcde']);
    expect(result.repaired).toEqual([]);
    expect(
      fake.get('Namespace', undefined, 'store-lost-abcde')!.status.phase,
    ).toBe('Terminating');
    expect(
      fake.get('Namespace', undefined, 'store-young-abcde')!.status.phase,
    ).toBe('Active');
    expect(fake.get('Namespace', undefined, kept.namespace)!.status.phase).toBe(
      'Active',
    );
    const [event] = await harness.repository.listEvents('lost-abcde', 10);
    expect(event).toMatchObject({ type: 'orphan.deleted', level: 'warning' });
    expect(event.message).toMatch(
      /^Deleted namespace store-lost-abcde: it carries Storeplane's labels but no store lost-abcde exists in Storeplane's database/,
    );
    expect(logs).toEqual([event.message]);
    // Nothing left to do on the next pass.
    fake.finalizeTerminatingNamespaces();
    expect((await sweep().run()).deleted).toEqual([]);
  });

  it('marks a Ready store whose namespace vanished as Failed, saying what Retry and Delete will do', async () => {
    const store = await readyStore('vanish');
    fake.objects.delete(`Namespace//${store.namespace}`);

    const result = await sweep().run();

    expect(result.repaired).toEqual([{ id: store.id, status: 'Failed' }]);
    const failed = await harness.repository.getStore(store.id);
    expect(failed).toMatchObject({
      status: 'Failed',
      step: 'guardrails',
      storefrontUrl: null,
    });
    expect(failed!.lastError).toBe(
      `Namespace ${store.namespace} no longer exists: it was deleted outside Storeplane, and the store's data went with it. Retry provisions the store again from scratch (new credentials, an empty shop); Delete removes it.`,
    );
    expect(changes).toEqual([{ storeId: store.id, status: 'Failed' }]);
    // Retry provisions it again, from the namespace on.
    await harness.service.retryStore(failed!, USER);
    const ready = await harness.runUntil(
      store.id,
      s => s?.status === 'Ready',
      30,
      () => fake.progress(),
    );
    expect(ready!.status).toBe('Ready');
  });

  it('restarts a store that was being provisioned from the namespace step, and leaves the rest alone', async () => {
    const deleting = await readyStore('deleting');
    await harness.service.deleteStore(
      (await harness.repository.getStore(deleting.id))!,
      USER,
    );
    const midway = await harness.service.createStore(
      { name: 'midway', owner: OWNER, plan: 'small' },
      USER,
    );
    await harness.runUntil(midway.id, s => s?.step === 'helmInstall');
    const fresh = await harness.service.createStore(
      { name: 'fresh', owner: OWNER, plan: 'small' },
      USER,
    );
    fake.objects.delete(`Namespace//${midway.namespace}`);
    fake.objects.delete(`Namespace//${deleting.namespace}`);

    const result = await sweep().run();

    expect(result.repaired).toEqual([
      { id: midway.id, status: 'Provisioning' },
    ]);
    expect(await harness.repository.getStore(midway.id)).toMatchObject({
      status: 'Provisioning',
      step: 'guardrails',
      generation: 2,
    });
    // The fresh store has not made its namespace yet; the deleting one needs none.
    expect((await harness.repository.getStore(fresh.id))!.step).toBe(
      'guardrails',
    );
    expect((await harness.repository.getStore(deleting.id))!.status).toBe(
      'Deleting',
    );
  });

  it('does not touch a store another worker holds', async () => {
    const store = await harness.service.createStore(
      { name: 'held', owner: OWNER, plan: 'small' },
      USER,
    );
    await harness.runUntil(store.id, s => s?.step === 'helmInstall');
    fake.objects.delete(`Namespace//${store.namespace}`);
    harness.clock.shiftMs += 5000;
    const [due] = await harness.repository.findDueStores(1);
    expect(
      await harness.repository.claimStore(due, 'other/1', 60_000),
    ).toBeDefined();
    expect((await sweep().run()).repaired).toEqual([]);
    expect((await harness.repository.getStore(store.id))!.step).toBe(
      'helmInstall',
    );
  });
});
