/**
 * The Kubernetes API fake (`FakeKubernetesApi` with `autoProgress`) behind a real HTTP server,
 * in a process of its own, so the bench's CPU figures are Storeplane's and not the fake's.
 * `/health/<ns>` answers the health check. Environment: FAKE_LATENCY_MS delays every answer (an
 * API server's round trip); FAKE_JOB_MS is how long a Job runs before it succeeds and
 * FAKE_ROLLOUT_MS how long the install's workloads take to become available (0: as soon as
 * Storeplane looks again). The fake serves no watches (a watch request gets a list and ends), so
 * Storeplane polls waiting stores, as it does when it cannot hold a watch. Run with `fork`: sends
 * `{ port }` once it listens and answers a `'stats'` message with what it served.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FakeKubernetesApi } from '../../packages/stores-test-utils/src';

export interface FakeServerStats {
  requests: number;
  cpuMs: number;
  maxHelmJobsAtOnce: number;
  /** Most requests the fake was answering at once (its latency wait included). */
  maxInFlight: number;
  /** How late the fake's event loop ran, p99 in ms: its own queueing. */
  eventLoopDelayP99Ms: number;
}

const fake = new FakeKubernetesApi();
fake.autoProgress = true;
fake.autoProgressTiming = {
  jobMs: Number(process.env.FAKE_JOB_MS ?? 0),
  rolloutMs: Number(process.env.FAKE_ROLLOUT_MS ?? 0),
};
const latencyMs = Number(process.env.FAKE_LATENCY_MS ?? 0);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let inFlight = 0;
let maxInFlight = 0;

async function answer(req: http.IncomingMessage, res: http.ServerResponse) {
  const url = `http://${req.headers.host}${req.url}`;
  if (req.url?.startsWith('/health/')) {
    res.writeHead(200).end('ok');
    return;
  }
  if (latencyMs > 0)
    await new Promise(resolve => setTimeout(resolve, latencyMs));
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
  const response = await fake.respond(
    new Request(url, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    }),
  );
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

const server = http.createServer((req, res) => {
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  answer(req, res)
    .catch(error => {
      res.writeHead(500).end(String(error));
    })
    .finally(() => {
      inFlight--;
    });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    process.send?.({ port: address.port });
});

process.on('message', message => {
  if (message !== 'stats') return;
  const cpu = process.cpuUsage();
  const stats: FakeServerStats = {
    requests: fake.requests.length,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxHelmJobsAtOnce: fake.maxHelmJobsAtOnce,
    maxInFlight,
    eventLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
  process.send?.(stats);
});
process.on('disconnect', () => process.exit(0));
