/**
 * One Storeplane backend for the reliability bench: Backstage's own backend (backend-defaults:
 * config, database, scheduler, HTTP, auth, logging) with the real stores plugin and nothing
 * else. The bench runs it as a child process (`--config <file>`), kills it with SIGKILL and
 * starts it again.
 *
 * STOREPLANE_BENCH_CLOCK_OFFSET_MS moves this process's clock (Date) ahead, as on a replica
 * whose clock is wrong; Storeplane's leases must not care.
 */
import { createBackend } from '@backstage/backend-defaults';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { OWNER } from './owner';

function shiftProcessClock(offsetMs: number) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [string]));
    }
    static now() {
      return RealDate.now() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}

const offset = Number(process.env.STOREPLANE_BENCH_CLOCK_OFFSET_MS ?? 0);
if (offset) shiftProcessClock(offset);

const backend = createBackend();
backend.add(import('@storeplane/plugin-stores-backend'));
// No catalog runs here (the bench measures the reconciler): the stores plugin's owner check
// asks this in-memory catalog, which knows the bench's one owner group.
const [, ownerName] = OWNER.split('/');
backend.add(
  catalogServiceMock.factory({
    entities: [
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Group',
        metadata: { name: ownerName, namespace: 'default' },
        spec: { type: 'team', children: [] },
      },
    ],
  }),
);
backend.start();
