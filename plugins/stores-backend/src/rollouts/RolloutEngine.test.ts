import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { RolloutRepository } from '../database/RolloutRepository';
import { RolloutEngine } from './RolloutEngine';
import { RolloutService } from './RolloutService';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const ADMIN = 'user:default/admin';
const LEASE_MS = 60_000;
// Each test runs stores through waves on a real database: 2-3 s alone, more on a busy machine.
jest.setTimeout(30_000);

describe.each(databases.eachSupportedId())(
  'fleet rollouts on %s',
  databaseId => {
    let fake: FakeKubernetesApi;
    let harness: Harness;
    let rollouts: RolloutRepository;
    let service: RolloutService;

    function newEngine(replicaId: string) {
      return new RolloutEngine({
        rollouts,
        stores: harness.repository,
        upgradeStore: (store, actor) =>
          harness.service.upgradeStore(store, actor),
        shippedChartVersion: async () => '0.1.0',
        logger: { info() {}, warn() {}, error() {} } as any,
        leaseMs: LEASE_MS,
        checkIntervalMs: 1000,
        replicaId,
      });
    }

    /** Four stores Ready on chart 0.0.9, oldest first; the backend then ships 0.1.0. */
    async function fleet() {
      fake.chartVersion = '0.0.9';
      const ids: string[] = [];
      for (const name of ['one', 'two', 'three', 'four']) {
        const created = await harness.service.createStore(
          { name, owner: OWNER, plan: 'small' },
          'user:default/ann',
        );
        ids.push(created.id);
        harness.clock.shiftMs += 1000;
      }
      const api = fake;
      for (const id of ids)
        await harness.runUntil(
          id,
          s => s?.status === 'Ready',
          30,
          () => api.progress(),
        );
      fake.chartVersion = '0.1.0';
      // In the order a rollout takes them (oldest first, then by id): two creates may fall in
      // the same millisecond.
      const createdAt = new Map<string, number>();
      for (const id of ids)
        createdAt.set(id, (await harness.repository.getStore(id))!.createdAt);
      return ids.sort(
        (a, b) => createdAt.get(a)! - createdAt.get(b)! || (a < b ? -1 : 1),
      );
    }

    /** Each store's result in the rollout, in the order of `ids`. */
    async function results(rolloutId: string, ids: string[]) {
      const items = await rollouts.listItems(rolloutId);
      return ids.map(id => items.find(i => i.storeId === id)!.result);
    }

    /** Engine and reconciler passes, 5 s of database clock apart, until `done` holds. */
    async function runUntil(
      engine: RolloutEngine,
      id: string,
      done: (status: string) => boolean,
      passes = 120,
    ) {
      for (let i = 0; i < passes; i++) {
        const rollout = await rollouts.getRollout(id);
        if (done(rollout!.status)) return rollout!;
        await engine.runOnce();
        fake.progress();
        harness.clock.shiftMs += 5000;
        await harness.loop.runOnce();
      }
      throw new Error(
        `rollout ${id} stuck: ${JSON.stringify(await rollouts.getRollout(id))}`,
      );
    }

    beforeEach(async () => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
      const knex = await databases.init(databaseId);
      harness = await createHarness(knex);
      rollouts = new RolloutRepository(knex, {
        clockShiftMs: () => harness.clock.shiftMs,
      });
      service = new RolloutService({
        rollouts,
        defaults: { waveSize: 2, pauseMs: 10_000, maxFailures: 1 },
        shippedChartVersion: async () => '0.1.0',
      });
    });

    it('moves every store in waves, the canary alone first', async () => {
      const ids = await fleet();
      const rollout = await service.createRollout({}, ADMIN);
      expect(rollout).toMatchObject({
        status: 'Pending',
        targetChartVersion: '0.1.0',
        waveCount: 3,
      });
      const items = await rollouts.listItems(rollout.id);
      expect(ids.map(id => items.find(i => i.storeId === id)!.wave)).toEqual([
        1, 2, 2, 3,
      ]);

      const done = await runUntil(
        newEngine('a'),
        rollout.id,
        s => s === 'Succeeded',
      );
      expect(done.nextCheckAt).toBeNull();
      for (const id of ids)
        expect(await harness.repository.getStore(id)).toMatchObject({
          status: 'Ready',
          chartVersion: '0.1.0',
        });
      expect(await results(rollout.id, ids)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      const types = (await rollouts.listEvents(rollout.id, 100))
        .reverse()
        .map(e => e.type);
      expect(types.filter(t => t === 'wave.started')).toHaveLength(3);
      expect(types.at(-1)).toBe('succeeded');
      // The canary's wave finished before the second wave started.
      const order = (await rollouts.listEvents(rollout.id, 100))
        .reverse()
        .filter(e => e.type === 'wave.started' || e.type === 'wave.finished')
        .map(e => e.message.slice(0, 6));
      expect(order).toEqual([
        'Wave 1',
        'Wave 1',
        'Wave 2',
        'Wave 2',
        'Wave 3',
        'Wave 3',
      ]);
      await expect(service.createRollout({}, ADMIN)).rejects.toThrow(
        /already runs chart 0.1.0/,
      );
    });

    it('halts after maxFailures; the failed store is back on its old revision, the wave after never starts', async () => {
      const ids = await fleet();
      const failing = (await harness.repository.getStore(ids[1]))!;
      fake.healthStatusByNamespace.set(failing.namespace, 500);
      const rollout = await service.createRollout({}, ADMIN);

      const halted = await runUntil(
        newEngine('a'),
        rollout.id,
        s => s === 'Halted',
      );
      expect(halted.haltReason).toMatch(
        new RegExp(
          `^1 store failed \\(at most 0 allowed\\): ${ids[1]}: .*rolled back to revision 1.*HTTP 500`,
        ),
      );
      expect(await harness.repository.getStore(ids[1])).toMatchObject({
        status: 'Ready',
        chartVersion: '0.0.9',
      });
      expect(await harness.repository.getStore(ids[0])).toMatchObject({
        chartVersion: '0.1.0',
      });
      expect(await harness.repository.getStore(ids[2])).toMatchObject({
        chartVersion: '0.1.0',
      });
      expect(await harness.repository.getStore(ids[3])).toMatchObject({
        status: 'Ready',
        chartVersion: '0.0.9',
      });
      expect(await results(rollout.id, ids)).toEqual([
        'succeeded',
        'failed',
        'succeeded',
        'pending',
      ]);
      // Nothing more happens until an operator decides.
      await runUntil(newEngine('a'), rollout.id, () => false, 5).catch(
        () => {},
      );
      expect((await results(rollout.id, ids))[3]).toBe('pending');

      // Resumed, the failures so far no longer count: the last wave runs.
      await service.resume(rollout.id, ADMIN);
      const finished = await runUntil(
        newEngine('a'),
        rollout.id,
        s => s === 'Succeeded',
      );
      expect(finished.haltReason).toBeNull();
      expect(await harness.repository.getStore(ids[3])).toMatchObject({
        chartVersion: '0.1.0',
      });
    });

    it('starts no wave while paused, and no wave after an abort; the store mid-upgrade finishes its own', async () => {
      const ids = await fleet();
      const rollout = await service.createRollout({}, ADMIN);
      const engine = newEngine('a');
      await engine.runOnce(); // the canary's upgrade is requested
      expect((await harness.repository.getStore(ids[0]))!.status).toBe(
        'Updating',
      );
      await service.pause(rollout.id, ADMIN);
      await expect(service.pause(rollout.id, ADMIN)).rejects.toThrow(
        /is Paused; only a rollout that is Pending or Running can be paused/,
      );
      await runUntil(engine, rollout.id, () => false, 20).catch(() => {});
      // The canary finished and was recorded while paused; wave 2 never started.
      expect(await results(rollout.id, ids)).toEqual([
        'succeeded',
        'pending',
        'pending',
        'pending',
      ]);
      expect((await rollouts.getRollout(rollout.id))!.nextCheckAt).toBeNull();

      await service.resume(rollout.id, ADMIN);
      // Wave 2 starts once the canary's pause is over.
      for (
        let i = 0;
        i < 5 && (await results(rollout.id, ids))[1] === 'pending';
        i++
      ) {
        harness.clock.shiftMs += 5000;
        await engine.runOnce();
      }
      expect((await results(rollout.id, ids))[1]).toBe('upgrading');
      await service.abort(rollout.id, ADMIN);
      await runUntil(engine, rollout.id, () => false, 20).catch(() => {});
      expect(await results(rollout.id, ids)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'pending',
      ]);
      expect((await rollouts.getRollout(rollout.id))!.status).toBe('Aborted');
      expect((await harness.repository.getStore(ids[3]))!.chartVersion).toBe(
        '0.0.9',
      );
      await expect(service.resume(rollout.id, ADMIN)).rejects.toThrow(
        /is Aborted/,
      );
    });

    it('is taken over by a new engine once the lease of one that died expires', async () => {
      const ids = await fleet();
      const rollout = await service.createRollout({ pauseMs: 0 }, ADMIN);
      // Engine "a" claims the rollout and dies holding it.
      const [dueId] = await rollouts.listDueRollouts(1);
      expect(
        await rollouts.claimRollout(dueId, 'a/dead', LEASE_MS),
      ).toBeDefined();

      const restarted = newEngine('b');
      expect(await restarted.runOnce()).toBe(0);
      harness.clock.shiftMs += LEASE_MS + 1000;
      const done = await runUntil(
        restarted,
        rollout.id,
        s => s === 'Succeeded',
      );
      expect(done.status).toBe('Succeeded');
      for (const id of ids)
        expect((await harness.repository.getStore(id))!.chartVersion).toBe(
          '0.1.0',
        );
      // The dead holder can write nothing any more.
      expect(
        await rollouts.updateClaimedItem(rollout.id, ids[0], 'a/dead', {
          result: 'failed',
        }),
      ).toBe(false);
    });
  },
);
