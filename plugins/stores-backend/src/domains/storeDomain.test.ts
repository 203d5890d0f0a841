import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { parse } from 'yaml';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { DomainCheckResult, DomainResolver } from './DomainResolver';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';
const TARGET = 'ingress.example.net';

/** Answers the DNS check as the test says, and records what it was asked. */
class FakeResolver implements DomainResolver {
  answer: 'yes' | 'no' | 'fault' = 'no';
  readonly asked: Array<[string, string]> = [];

  async check(domain: string, target: string): Promise<DomainCheckResult> {
    this.asked.push([domain, target]);
    if (this.answer === 'fault') throw new Error(`queryA ETIMEOUT ${domain}`);
    return this.answer === 'yes'
      ? { pointsAtIngress: true, message: `${domain} is a CNAME of ${target}` }
      : {
          pointsAtIngress: false,
          message: `${domain} does not point at ${target} yet`,
        };
  }
}

describe.each(databases.eachSupportedId())(
  'custom domain of a store on %s',
  databaseId => {
    let fake: FakeKubernetesApi;
    let resolver: FakeResolver;
    let harness: Harness;

    beforeEach(async () => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
      resolver = new FakeResolver();
      harness = await createHarness(await databases.init(databaseId), {
        configOverrides: {
          domains: { ingressAddress: TARGET, checkInterval: { seconds: 30 } },
          ingress: {
            baseDomain: 'stores.example.com',
            tls: {
              enabled: true,
              annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
            },
          },
        },
        domainResolver: resolver,
      });
    });

    const progress = () => fake.progress();
    async function readyStore() {
      const created = await harness.service.createStore(
        { name: 'shop', owner: OWNER, plan: 'small' },
        USER,
      );
      return (await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        progress,
      ))!;
    }
    const ingressValues = (namespace: string) =>
      parse(
        fake.get('ConfigMap', namespace, 'storeplane-values')!.data[
          'values.yaml'
        ],
      ).ingress;
    const eventTypes = async (id: string) =>
      (await harness.repository.listEvents(id, 200)).reverse().map(e => e.type);

    it('applies a domain with a Helm upgrade, waits for DNS while Ready, then turns Active; removal goes back to the platform host', async () => {
      const store = await readyStore();
      expect(ingressValues(store.namespace)).toMatchObject({
        host: `${store.namespace}.stores.example.com`,
        extraHosts: [],
      });

      await harness.domains.setDomain(
        store,
        { domain: 'shop.example.org' },
        USER,
      );
      const updated = (await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        progress,
      ))!;
      expect(updated).toMatchObject({
        domain: 'shop.example.org',
        appliedDomain: 'shop.example.org',
        helmRevision: 2,
        storefrontUrl: store.storefrontUrl,
      });
      // Both hosts, each with its certificate from the configured issuer.
      expect(ingressValues(store.namespace)).toMatchObject({
        host: `${store.namespace}.stores.example.com`,
        extraHosts: ['shop.example.org'],
        tls: {
          enabled: true,
          secretName: `${store.namespace}-tls`,
          extraHostsSecretName: `${store.namespace}-domain-tls`,
        },
        annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
      });
      // The release serves it: the store is Ready and serving, and its first DNS check is due
      // at once.
      expect(updated.domainStatus).toBe('AwaitingDns');
      expect(updated.domainCheckedAt).toBeNull();
      expect(updated.nextAttemptAt).toBeLessThanOrEqual(
        await harness.repository.databaseNow(),
      );
      await harness.loop.runOnce();
      expect(resolver.asked).toEqual([['shop.example.org', TARGET]]);
      const checked = (await harness.repository.getStore(store.id))!;
      expect(checked).toMatchObject({
        status: 'Ready',
        domainStatus: 'AwaitingDns',
        domainMessage: `shop.example.org does not point at ${TARGET} yet`,
      });
      expect(checked.domainCheckedAt).not.toBeNull();
      expect(harness.domains.describe(checked)).toMatchObject({
        domain: 'shop.example.org',
        status: 'AwaitingDns',
        expectedTarget: TARGET,
      });

      // Checked again on its own interval (30 s), not in a loop: nothing before it is due.
      await harness.loop.runOnce();
      expect(resolver.asked).toHaveLength(1);
      harness.clock.shiftMs += 31_000;
      await harness.loop.runOnce();
      expect(resolver.asked).toHaveLength(2);
      const stillWaiting = await harness.repository.getStore(store.id);
      expect(stillWaiting).toMatchObject({
        status: 'Ready',
        domainStatus: 'AwaitingDns',
      });
      expect(
        stillWaiting!.nextAttemptAt - stillWaiting!.domainCheckedAt!,
      ).toBeCloseTo(30_000, -2);

      resolver.answer = 'fault';
      harness.clock.shiftMs += 31_000;
      await harness.loop.runOnce();
      expect(await harness.repository.getStore(store.id)).toMatchObject({
        status: 'Ready',
        domainStatus: 'AwaitingDns',
        domainMessage: expect.stringMatching(
          /The DNS check of shop\.example\.org failed: queryA ETIMEOUT/,
        ),
      });

      resolver.answer = 'yes';
      harness.clock.shiftMs += 31_000;
      await harness.loop.runOnce();
      const active = (await harness.repository.getStore(store.id))!;
      expect(active).toMatchObject({
        status: 'Ready',
        domainStatus: 'Active',
        domainMessage: `shop.example.org is a CNAME of ${TARGET}`,
      });
      // Active: back to the monitor's cadence, and no more DNS checks.
      expect(active.nextAttemptAt - active.domainCheckedAt!).toBeCloseTo(
        harness.config.monitor.intervalMs,
        -2,
      );
      const checks = resolver.asked.length;
      harness.clock.shiftMs += harness.config.monitor.intervalMs + 1000;
      await harness.loop.runOnce();
      expect(resolver.asked).toHaveLength(checks);
      expect(await eventTypes(store.id)).toEqual(
        expect.arrayContaining(['domain.set', 'updated', 'domain.active']),
      );

      await harness.domains.removeDomain(active, USER);
      const removed = (await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        progress,
      ))!;
      expect(removed).toMatchObject({
        domain: null,
        appliedDomain: null,
        domainStatus: null,
        domainMessage: null,
        helmRevision: 3,
      });
      expect(ingressValues(store.namespace)).toMatchObject({
        extraHosts: [],
        tls: { extraHostsSecretName: '' },
      });
      const types = await eventTypes(store.id);
      expect(types.slice(types.indexOf('domain.removed'))).toEqual([
        'domain.removed',
        'guardrails.applied',
        'secret.present',
        'helm.upgrade.succeeded',
        'workloads.available',
        'health.passed',
        'updated',
      ]);
    }, 30_000);

    it('rolls a domain change whose gates fail back to the domain the release served', async () => {
      const store = await readyStore();
      await harness.domains.setDomain(
        store,
        { domain: 'old.example.org' },
        USER,
      );
      resolver.answer = 'yes';
      const first = (await harness.runUntil(
        store.id,
        s => s?.status === 'Ready' && s.domainStatus === 'Active',
        30,
        progress,
      ))!;

      fake.healthStatus = 500;
      await harness.domains.setDomain(
        first,
        { domain: 'new.example.org' },
        USER,
      );
      const rolledBack = (await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        80,
        progress,
      ))!;
      expect(await eventTypes(store.id)).toEqual(
        expect.arrayContaining(['update.failed', 'update.rolledBack']),
      );
      // The old release serves old.example.org again; its DNS is checked again at once.
      expect(rolledBack).toMatchObject({
        domain: 'old.example.org',
        appliedDomain: 'old.example.org',
      });
      expect(rolledBack.domainStatus).toMatch(/AwaitingDns|Active/);
      // The domain the failed change asked for is free for another store.
      const other = await harness.service.createStore(
        { name: 'other', owner: OWNER, plan: 'small' },
        USER,
      );
      fake.healthStatus = 200;
      const otherReady = (await harness.runUntil(
        other.id,
        s => s?.status === 'Ready',
        30,
        progress,
      ))!;
      await harness.domains.setDomain(
        otherReady,
        { domain: 'new.example.org' },
        USER,
      );
      await expect(
        harness.domains.setDomain(
          (await harness.repository.getStore(store.id))!,
          { domain: 'new.example.org' },
          USER,
        ),
      ).rejects.toThrow(/belongs to another store/);
    }, 60_000);
  },
);
