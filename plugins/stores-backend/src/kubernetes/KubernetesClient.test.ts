import { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  HEALTH_CHECK_MAX_BODY_BYTES,
  httpStatusOf,
  KubernetesClient,
  KubernetesTimeoutError,
} from './KubernetesClient';

/** A kubeconfig with a token user for the API server at `server` (a URL). */
function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** A real HTTP server: fast, one byte at a time, or a large body; records bytes it wrote. */
async function startServer() {
  const sent = { bytes: 0, closedEarly: false };
  const answers: Record<string, (res: http.ServerResponse) => void> = {
    fast: res => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>ok</html>');
    },
    drip: res => {
      res.writeHead(200, { 'content-type': 'text/html' });
      const timer = setInterval(() => {
        if (res.destroyed) {
          clearInterval(timer);
          return;
        }
        sent.bytes += 1;
        res.write('x');
      }, 50);
    },
    huge: res => {
      res.writeHead(200, { 'content-type': 'text/html' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && sent.bytes < 64 * 1024 * 1024) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    },
  };
  const server = http.createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) sent.closedEarly = true;
    });
    const answer = answers[(req.url ?? '').split('/').pop() ?? ''];
    if (answer) answer(res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    close: () => {
      server.closeAllConnections();
      return new Promise(resolve => server.close(resolve));
    },
  };
}

describe('the health check request', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(() => server.close());

  it('resolves with the status of a normal answer', async () => {
    await expect(
      httpStatusOf(new URL(`${server.url}/fast`), { method: 'GET' }, 2000),
    ).resolves.toBe(200);
  });

  it('gives up at the deadline on a server that answers one byte at a time', async () => {
    const started = Date.now();
    await expect(
      httpStatusOf(new URL(`${server.url}/drip`), { method: 'GET' }, 600),
    ).rejects.toThrow(KubernetesTimeoutError);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(1500);
    expect(server.sent.bytes).toBeLessThan(HEALTH_CHECK_MAX_BODY_BYTES);
  });

  it('reads at most a few KiB of a large page and hangs up', async () => {
    await expect(
      httpStatusOf(new URL(`${server.url}/huge`), { method: 'GET' }, 5000),
    ).resolves.toBe(200);
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(server.sent.closedEarly).toBe(true);
    // What the socket buffers took before the hang-up, far from the 64 MiB offered.
    expect(server.sent.bytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('keeps the same deadline through the API server service proxy', async () => {
    const kc = kubeConfigFor(`${server.url}/api-server`);
    const client = new KubernetesClient(kc, 10_000);
    const started = Date.now();
    // The proxy path ends in the check's own path; the stand-in drips on /drip.
    await expect(
      client.getThroughServiceProxy('store-a', 'wp', 'http', '/drip', 600),
    ).rejects.toThrow(/did not answer within 600 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect(
      client.getThroughServiceProxy('store-a', 'wp', 'http', '/fast', 600),
    ).resolves.toBe(200);
  });
});

/** Discovery of the core group as an API server that knows only namespaces answers it. */
function answerCoreDiscovery(res: http.ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [{ name: 'namespaces', kind: 'Namespace', namespaced: false }],
    }),
  );
}

describe('an API call', () => {
  /** An API server that fails the first answers of a namespace read as told. */
  async function startApiServer(
    failures: Array<[number, Record<string, string>?]>,
  ) {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/api/v1') {
        answerCoreDiscovery(res);
        return;
      }
      seen.push(`${req.method} ${req.url}`);
      const failure = failures.shift();
      if (failure) {
        res.writeHead(failure[0], {
          'content-type': 'application/json',
          ...failure[1],
        });
        res.end(
          JSON.stringify({ kind: 'Status', code: failure[0], message: 'busy' }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'store-a' },
        }),
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const kc = kubeConfigFor(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    return {
      client: new KubernetesClient(kc, 2000, { retryPauseMs: 5 }),
      seen,
      close: () => {
        server.closeAllConnections();
        return new Promise(resolve => server.close(resolve));
      },
    };
  }

  it('is tried again at once on 429 and 5xx, up to three times, with the write guard before each try', async () => {
    const api = await startApiServer([[503], [429]]);
    let guarded = 0;
    const fenced = api.client.fenced(async () => {
      guarded++;
    });
    await expect(
      fenced.delete('v1', 'Namespace', undefined, 'store-a'),
    ).resolves.toBe('deleted');
    expect(api.seen).toEqual([
      'DELETE /api/v1/namespaces/store-a?propagationPolicy=Background',
      'DELETE /api/v1/namespaces/store-a?propagationPolicy=Background',
      'DELETE /api/v1/namespaces/store-a?propagationPolicy=Background',
    ]);
    expect(guarded).toBe(3);
    await api.close();
  });

  it('hands the third failure, and any 4xx at once, to the reconciler', async () => {
    const api = await startApiServer([[500], [502], [504], [422]]);
    await expect(
      api.client.read('v1', 'Namespace', undefined, 'store-a'),
    ).rejects.toMatchObject({ code: 504 });
    await expect(
      api.client.read('v1', 'Namespace', undefined, 'store-a'),
    ).rejects.toMatchObject({ code: 422 });
    expect(api.seen).toHaveLength(4);
    await api.close();
  });

  it('waits as long as Retry-After says (within bounds)', async () => {
    const api = await startApiServer([[429, { 'retry-after': '1' }]]);
    const started = Date.now();
    await api.client.read('v1', 'Namespace', undefined, 'store-a');
    // Retry-After 1 s, bounded to 20 × the base pause (5 ms) here.
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(api.seen).toHaveLength(2);
    await api.close();
  });
});

describe('applies sent at once', () => {
  /**
   * An API server that answers no apply before `together` have arrived (so they only resolve
   * when sent at once), then each with the status `statusOf` gives its namespace's name (once
   * per name for a 503), slower for names starting with `slow`.
   */
  async function startApplyServer(
    together: number,
    statusOf: (name: string) => number,
  ) {
    const applied: string[] = [];
    const held: Array<() => void> = [];
    const failedOnce = new Set<string>();
    let discoveries = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/api/v1') {
        discoveries++;
        answerCoreDiscovery(res);
        return;
      }
      const name = (req.url ?? '').split('?')[0].split('/').pop()!;
      applied.push(`${req.method} ${name}`);
      let status = statusOf(name);
      if (status === 503 && failedOnce.has(name)) status = 200;
      if (status === 503) failedOnce.add(name);
      const answer = () =>
        setTimeout(
          () => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify(
                status === 200
                  ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }
                  : { kind: 'Status', code: status, message: `${name} no` },
              ),
            );
          },
          name.startsWith('slow') ? 50 : 0,
        );
      held.push(answer);
      if (applied.length >= together) held.splice(0).forEach(a => a());
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const kc = kubeConfigFor(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    let guarded = 0;
    const client = new KubernetesClient(kc, 2000, { retryPauseMs: 5 }).fenced(
      async () => {
        guarded++;
      },
    );
    return {
      client,
      applied,
      guarded: () => guarded,
      discoveries: () => discoveries,
      close: () => {
        server.closeAllConnections();
        return new Promise(resolve => server.close(resolve));
      },
    };
  }

  const namespace = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });

  it('sends every apply before any is answered, after one write guard and one discovery', async () => {
    const api = await startApplyServer(3, () => 200);
    const results = await api.client.applyAll(['a', 'b', 'c'].map(namespace));
    expect(results.map(r => r.metadata?.name)).toEqual(['a', 'b', 'c']);
    expect([...api.applied].sort()).toEqual(['PATCH a', 'PATCH b', 'PATCH c']);
    expect(api.guarded()).toBe(1);
    expect(api.discoveries()).toBe(1);
    await api.close();
  });

  it('runs the write guard again before an apply it retries', async () => {
    const api = await startApplyServer(2, name => (name === 'b' ? 503 : 200));
    await api.client.applyAll(['a', 'b'].map(namespace));
    expect(api.applied.filter(a => a === 'PATCH b')).toHaveLength(2);
    expect(api.guarded()).toBe(2);
    await api.close();
  });

  it('ends when all have ended, with the first failure in the given order', async () => {
    const statuses: Record<string, number> = { a: 200, 'slow-b': 422, c: 403 };
    const api = await startApplyServer(3, name => statuses[name]);
    await expect(
      api.client.applyAll(['a', 'slow-b', 'c'].map(namespace)),
    ).rejects.toMatchObject({ code: 422 });
    expect(api.applied).toHaveLength(3);
    await api.close();
  });
});
