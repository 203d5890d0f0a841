import { mockServices } from '@backstage/backend-test-utils';
import { KubeConfig } from '@kubernetes/client-node';
import {
  answerOverHttp,
  FAKE_KUBE_SERVER,
  FakeKubernetesApi,
  waitFor,
} from '@internal/stores-test-utils';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubernetesClient } from './KubernetesClient';
import { ResourceWatch, WatchedResource } from './ResourceWatch';

const LABEL = 'storeplane.io/store-id';

const job = (name: string, storeId: string, finished: boolean, rv: string) => ({
  metadata: {
    name,
    namespace: `store-${storeId}`,
    uid: `uid-${name}`,
    resourceVersion: rv,
    labels: { [LABEL]: storeId },
  },
  status: finished
    ? { conditions: [{ type: 'Complete', status: 'True' }] }
    : { active: 1 },
});

const jobs: WatchedResource = {
  resource: 'jobs',
  apiVersion: 'batch/v1',
  kind: 'Job',
  stateOf: (object: any) =>
    object.status?.conditions?.length ? 'finished' : 'running',
  wakes: (before, after) => after === 'finished' && before !== 'finished',
};

/** Discovery, which client-node reads before its first list of a kind. */
const BATCH_V1_RESOURCES = JSON.stringify({
  kind: 'APIResourceList',
  groupVersion: 'batch/v1',
  resources: [
    { name: 'jobs', kind: 'Job', namespaced: true, verbs: ['list', 'watch'] },
  ],
});

/**
 * A scripted API server for one resource, speaking the API's list and watch protocol (a List
 * with its resourceVersion; a watch as JSON lines; 410 Gone as an ERROR event with a Status):
 * `lists` answer list requests in turn, `watches` script each watch request.
 */
async function scriptedApiServer(script: {
  lists: Array<{ resourceVersion: string; items: unknown[] }>;
  watches: Array<(res: http.ServerResponse) => void>;
}) {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://localhost');
    if (url.pathname === '/apis/batch/v1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(BATCH_V1_RESOURCES);
      return;
    }
    requests.push(url);
    if (url.searchParams.get('watch') === 'true') {
      const next = script.watches.shift();
      res.writeHead(200, { 'content-type': 'application/json' });
      if (next) next(res);
      return;
    }
    const list = script.lists.shift();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'batch/v1',
        kind: 'JobList',
        metadata: { resourceVersion: list?.resourceVersion ?? '1' },
        items: list?.items ?? [],
      }),
    );
  });
  return { requests, ...(await listening(server)) };
}

/** A client of the API server `server` plays, once it listens on loopback. */
async function listening(server: http.Server) {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'test',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'test', user: 'u' }],
    currentContext: 'c',
  });
  return {
    client: new KubernetesClient(kubeConfig, 5_000),
    close: () => {
      server.closeAllConnections();
      return new Promise(resolve => server.close(resolve));
    },
  };
}

/** A watch of the test's Jobs by the store-id label, and the stores it reported, in order. */
function watchJobs(
  client: KubernetesClient,
  logger = mockServices.logger.mock(),
) {
  const changed: string[] = [];
  const watch = new ResourceWatch({
    watched: jobs,
    labelSelector: LABEL,
    storeLabel: LABEL,
    kubernetes: () => client,
    logger,
    onStoreChanged: storeId => void changed.push(storeId),
  });
  return { watch, changed };
}

const send = (res: http.ServerResponse, type: string, object: unknown) =>
  res.write(`${JSON.stringify({ type, object })}\n`);

describe('ResourceWatch', () => {
  it('resumes from bookmarks, lists again on 410 Gone and reports what changed meanwhile', async () => {
    let openWatch: http.ServerResponse | undefined;
    const api = await scriptedApiServer({
      lists: [
        // At start: store a's Job runs, b's already finished (nothing to report: the first list
        // only learns the states).
        {
          resourceVersion: '10',
          items: [job('a', 'a', false, '9'), job('b', 'b', true, '8')],
        },
        // After the 410: a's Job finished while no watch was open.
        {
          resourceVersion: '30',
          items: [job('a', 'a', true, '25'), job('b', 'b', true, '8')],
        },
      ],
      watches: [
        res => {
          send(res, 'BOOKMARK', { metadata: { resourceVersion: '12' } });
          setTimeout(() => res.end(), 1_100);
        },
        res => {
          send(res, 'ERROR', {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: 'too old resource version: 12 (20)',
          });
          res.end();
        },
        res => {
          openWatch = res;
          send(res, 'ADDED', job('c', 'c', false, '31'));
          send(res, 'MODIFIED', job('c', 'c', true, '32'));
        },
      ],
    });
    const { watch, changed } = watchJobs(api.client);
    try {
      watch.start();
      await waitFor('the watch after the relist', async () =>
        openWatch && changed.length === 2 ? true : undefined,
      );
      expect(changed).toEqual(['a', 'c']);
      expect(watch.isHeld()).toBe(true);
      const watches = api.requests
        .filter(url => url.searchParams.get('watch') === 'true')
        .map(url => ({
          resourceVersion: url.searchParams.get('resourceVersion'),
          bookmarks: url.searchParams.get('allowWatchBookmarks'),
          selector: url.searchParams.get('labelSelector'),
        }));
      expect(watches).toEqual([
        { resourceVersion: '10', bookmarks: 'true', selector: LABEL },
        { resourceVersion: '12', bookmarks: 'true', selector: LABEL },
        { resourceVersion: '30', bookmarks: 'true', selector: LABEL },
      ]);
      expect(
        api.requests.filter(url => !url.searchParams.has('watch')),
      ).toHaveLength(2);
    } finally {
      watch.stop();
      await api.close();
    }
  });

  it('is not held while the API server refuses the watch, and says so once', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/apis/batch/v1') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(BATCH_V1_RESOURCES);
        return;
      }
      const watching = req.url?.includes('watch=true');
      res.writeHead(watching ? 403 : 200, {
        'content-type': 'application/json',
      });
      res.end(
        JSON.stringify(
          watching
            ? { kind: 'Status', code: 403, reason: 'Forbidden' }
            : {
                kind: 'JobList',
                metadata: { resourceVersion: '1' },
                items: [],
              },
        ),
      );
    });
    const api = await listening(server);
    const warnings: string[] = [];
    const { watch } = watchJobs(
      api.client,
      mockServices.logger.mock({
        warn: (message: string) => void warnings.push(message),
      }),
    );
    try {
      watch.start();
      await waitFor('the refusal', async () =>
        warnings.length > 0 ? true : undefined,
      );
      expect(watch.isHeld()).toBe(false);
      expect(warnings).toEqual([
        expect.stringMatching(
          /^Cannot watch jobs: the API server refused it \(403\).*polled every few seconds/,
        ),
      ]);
    } finally {
      watch.stop();
      await api.close();
    }
  });

  it("is woken by the live Kubernetes fake's watch when a Job completes, without polling", async () => {
    const fake = new FakeKubernetesApi({ live: true });
    fake.autoProgress = true;
    fake.autoProgressTiming = { jobMs: 200, rolloutMs: 0 };
    const api = await listening(
      http.createServer((req, res) => void answerOverHttp(fake, req, res)),
    );
    const { watch, changed } = watchJobs(api.client);
    const create = (path: string, body: object) =>
      fake.respond(
        new Request(`${FAKE_KUBE_SERVER}${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
        }),
      );
    try {
      watch.start();
      await waitFor('the watch', async () => watch.isHeld() || undefined);
      await create('/api/v1/namespaces', {
        metadata: { name: 'store-a', labels: { [LABEL]: 'a' } },
      });
      const started = Date.now();
      await create('/apis/batch/v1/namespaces/store-a/jobs', {
        metadata: { name: 'helm-install', labels: { [LABEL]: 'a' } },
        spec: {},
      });
      await waitFor('the completed Job', async () =>
        changed.length > 0 ? true : undefined,
      );
      expect(changed).toEqual(['a']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      // One list, then one watch that stayed open: nothing asked the fake for the Job.
      expect(
        fake.requests.filter(r => r.startsWith('GET /apis/batch/v1/jobs')),
      ).toHaveLength(2);
    } finally {
      watch.stop();
      fake.close();
      await api.close();
    }
  });
});
