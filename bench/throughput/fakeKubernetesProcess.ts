import { ChildProcess, fork } from 'node:child_process';
import type { FakeServerStats } from './fakeKubernetesServer';

/** The next message from `child` that `pick` accepts (the transform also sends its own). */
function nextMessage<T>(
  child: ChildProcess,
  pick: (message: any) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const picked = pick(message);
      if (picked === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(picked);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the Kubernetes fake exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Starts bench/throughput/fakeKubernetesServer.ts as a child process; `latencyMs` delays every
 * answer, as an API server's round trip would; `jobMs` and `rolloutMs` are how long a Job runs
 * and how long workloads take to become available (default 0: at once).
 */
export async function startFakeKubernetes(
  options: { latencyMs?: number; jobMs?: number; rolloutMs?: number } = {},
) {
  const child = fork(require.resolve('./fakeKubernetesServer'), {
    env: {
      ...process.env,
      FAKE_LATENCY_MS: String(options.latencyMs ?? 0),
      FAKE_JOB_MS: String(options.jobMs ?? 0),
      FAKE_ROLLOUT_MS: String(options.rolloutMs ?? 0),
    },
    execArgv: [
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
    ],
  });
  const port = await nextMessage(child, m => m?.port as number | undefined);
  const stats = () => {
    const next = nextMessage(child, m =>
      typeof m?.requests === 'number' ? (m as FakeServerStats) : undefined,
    );
    child.send('stats');
    return next;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stats,
    stop: () => child.kill(),
  };
}
