/**
 * Backstage's global rate limit with the shipped settings (backend.rateLimit in
 * app-config.yaml, which app-config.production.yaml keeps): a burst from one client address
 * past the limit gets 429 while other clients, and plugin-to-plugin calls on loopback, are
 * still served. Client addresses are distinct loopback addresses (127.0.0.0/8).
 */
import { createBackend } from '@backstage/backend-defaults';
import { mockServices } from '@backstage/backend-test-utils';
import storesPlugin from '@storeplane/plugin-stores-backend';
import { testConfigData } from '@internal/stores-test-utils';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';

const repoRoot = path.resolve(__dirname, '../../..');
// A static external access token, so requests pass Backstage's real auth.
const SERVICE_TOKEN = 'rate-limit-test-token-0123456789';
const readConfig = (file: string) =>
  parse(readFileSync(path.join(repoRoot, file), 'utf8'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

function get(
  port: number,
  urlPath: string,
  from: string,
  agent: http.Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        localAddress: from,
        agent,
        headers: { authorization: `Bearer ${SERVICE_TOKEN}` },
      },
      res => {
        let body = '';
        res.on('data', chunk => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the shipped global rate limit', () => {
  jest.setTimeout(60_000);

  const shipped = readConfig('app-config.yaml').backend.rateLimit;

  it('is on in development and production with a documented limit', () => {
    expect(shipped).toMatchObject({
      window: { minutes: 1 },
      incomingRequestLimit: 600,
    });
    // Production loads app-config.yaml first and does not turn the limit off.
    expect(readConfig('app-config.production.yaml').backend).not.toHaveProperty(
      'rateLimit',
    );
    expect(readConfig('app-config.production.yaml').backend.trustProxy).toBe(1);
  });

  it('answers 429 to a burst from one client while the backend keeps serving others', async () => {
    const port = await freePort();
    const baseUrl = `http://localhost:${port}`;
    // The real backend: Backstage's own root HTTP router (where the limit lives), auth,
    // database and the stores plugin.
    const backend = createBackend();
    backend.add(
      mockServices.rootConfig.factory({
        data: {
          backend: {
            baseUrl,
            listen: { port },
            database: { client: 'better-sqlite3', connection: ':memory:' },
            rateLimit: shipped,
            auth: {
              externalAccess: [
                {
                  type: 'static',
                  options: { token: SERVICE_TOKEN, subject: 'rate-test' },
                },
              ],
            },
          },
          ...testConfigData(),
        },
      }),
    );
    backend.add(storesPlugin);
    await backend.start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const limit: number = shipped.incomingRequestLimit;
    try {
      const burst = [];
      for (let i = 0; i < limit; i += 8) {
        burst.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(8, limit - i) }, () =>
              get(port, '/.backstage/health/v1/readiness', '127.0.0.2', agent),
            ),
          )),
        );
      }
      expect(burst.filter(r => r.status !== 200)).toEqual([]);

      const over = await get(port, '/api/stores/plans', '127.0.0.2', agent);
      expect(over.status).toBe(429);
      expect(JSON.parse(over.body).error.message).toBe(
        'Too many requests, please try again later',
      );

      // Another client, and plugin-to-plugin traffic on loopback, are still served.
      const other = await get(port, '/api/stores/plans', '127.0.0.3', agent);
      expect(other.status).toBe(200);
      expect(JSON.parse(other.body).items.length).toBeGreaterThan(0);
      const internal = await get(port, '/api/stores/plans', '127.0.0.1', agent);
      expect(internal.status).toBe(200);
    } finally {
      agent.destroy();
      await backend.stop();
    }
  });
});
