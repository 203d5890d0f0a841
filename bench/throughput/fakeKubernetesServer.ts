/**
 * The Kubernetes API fake (`FakeKubernetesApi` with `autoProgress`) behind a real HTTP server,
 * in a process of its own, so the bench's CPU figures are Storeplane's and not the fake's.
 * `/health/<ns>` answers the health check. Environment: FAKE_LATENCY_MS delays every answer (an
 * API server's round trip); FAKE_JOB_MS is how long a Job runs before it succeeds and
 * FAKE_ROLLOUT_MS how long the install's workloads take to become available (0: as soon as
 * Storeplane looks again). The fake plays a live cluster: it serves watches and its controllers
 * finish Jobs and roll out workloads on timers, so Storeplane's watches wake waiting stores as
 * they would on a cluster; FAKE_WATCHES=0 makes it lazy and watchless (a watch request gets a
 * list and ends, the controllers run when a request looks), so Storeplane polls waiting stores,
 * as it does when it cannot hold a watch. Run with `fork`: sends `{ port }` once it listens and
 * answers a `'stats'` message with what it served.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  answerOverHttp,
  FakeKubernetesApi,
} from '../../packages/stores-test-utils/src';

export interface FakeServerStats {
  requests: number;
  cpuMs: number;
  maxHelmJobsAtOnce: number;
  /** Most requests the fake was answering at once (its latency wait included). */
  maxInFlight: number;
  /** How late the fake's event loop ran, p99 in ms: its own queueing. */
  eventLoopDelayP99Ms: number;
  /** Whether the fake served watches (FAKE_WATCHES). */
  watches: boolean;
}

const fake = new FakeKubernetesApi({ live: process.env.FAKE_WATCHES !== '0' });
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
  if (req.url?.startsWith('/health/')) {
    res.writeHead(200).end('ok');
    return;
  }
  if (latencyMs > 0)
    await new Promise(resolve => setTimeout(resolve, latencyMs));
  await answerOverHttp(fake, req, res);
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
    watches: fake.watches !== undefined,
  };
  process.send?.(stats);
});
process.on('disconnect', () => process.exit(0));
