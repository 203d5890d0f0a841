import { TestDatabases } from '@backstage/backend-test-utils';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { setupServer } from 'msw/node';
import { createServer } from 'node:net';
import { createStoresMetrics } from './metrics';
import { StoreRepository } from './database/StoreRepository';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { createHarness } from './__testUtils__/harness';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const server = setupServer();
// The scrape goes to a real local port, past msw.
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => server.close());

async function freePort(): Promise<number> {
  return new Promise(resolve => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('metrics', () => {
  it('are scrapeable as Prometheus text with the app exporter', async () => {
    const port = await freePort();
    const exporter = new PrometheusExporter({ port, host: '127.0.0.1' });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
    try {
      const fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
      const knex = await databases.init('SQLITE_3');
      const harness = await createHarness(knex, {
        metrics: createStoresMetrics(new StoreRepository(knex)),
      });
      const ready = await harness.service.createStore(
        { name: 'metered', owner: 'group:default/a', plan: 'small' },
        'user:default/ann',
      );
      // Three tries of the call fail: one retry of the step.
      fake.injectFault(
        { status: 503, message: 'busy' },
        3,
        (method, path) =>
          method === 'PATCH' && path.includes('/resourcequotas/'),
      );
      await harness.runUntil(
        ready.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      const failing = await harness.service.createStore(
        { name: 'broken', owner: 'group:default/a', plan: 'small' },
        'user:default/ann',
      );
      fake.injectFault(
        { status: 422, message: 'invalid' },
        1,
        method => method === 'PATCH',
      );
      await harness.runUntil(failing.id, s => s?.status === 'Failed');

      const text = await (
        await fetch(`http://127.0.0.1:${port}/metrics`)
      ).text();
      expect(text).toMatch(/^storeplane_stores\{status="Ready",[^}]*\} 1$/m);
      expect(text).toMatch(/^storeplane_stores\{status="Failed",[^}]*\} 1$/m);
      expect(text).toMatch(
        /^storeplane_store_provisioning_duration_count\{plan="small",[^}]*\} 1$/m,
      );
      expect(text).toMatch(
        /^storeplane_reconcile_retries_total\{step="guardrails",[^}]*\} 1$/m,
      );
      expect(text).toMatch(
        /^storeplane_reconcile_errors_total\{reason="server_error",kind="transient",[^}]*\} 1$/m,
      );
      expect(text).toMatch(
        /^storeplane_reconcile_errors_total\{reason="invalid",kind="permanent",[^}]*\} 1$/m,
      );
    } finally {
      await exporter.shutdown();
    }
  });
});
