/**
 * @jest-environment node
 */
import { FakeWatchHub, matchesLabelSelector } from './FakeWatchHub';

const job = (
  name: string,
  storeId: string,
  namespace = `store-${storeId}`,
) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name,
    namespace,
    labels: { 'storeplane.io/store-id': storeId, 'storeplane.io/role': 'helm' },
  },
});

const watchOf = (
  hub: FakeWatchHub,
  options: {
    resourceVersion?: string;
    namespace?: string;
    selector?: string;
  } = {},
) =>
  hub.open({
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: options.namespace,
    labelSelector: options.selector ?? 'storeplane.io/store-id',
    resourceVersion: options.resourceVersion ?? '',
    allowBookmarks: false,
    timeoutSeconds: 60,
    current: () => [job('now', 'n')],
  });

/** The events a stream has sent so far, as `TYPE name@resourceVersion`. */
async function sent(stream: ReadableStream<Uint8Array>, count: number) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n').length - 1 < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  reader.releaseLock();
  return text
    .trim()
    .split('\n')
    .map(line => JSON.parse(line))
    .map(({ type, object }) =>
      type === 'ERROR'
        ? `ERROR ${object.code}`
        : `${type} ${object.metadata.name}@${object.metadata.resourceVersion}`,
    );
}

describe('FakeWatchHub', () => {
  it('replays what came after the resourceVersion, then streams what matches kind, namespace and selector', async () => {
    const hub = new FakeWatchHub();
    const at = (rv: number, object: any) => ({
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(rv) },
    });
    hub.publish('ADDED', at(1, job('old', 'a')), 1);
    hub.publish('ADDED', at(2, job('install', 'a')), 2);
    const all = watchOf(hub, { resourceVersion: '1' });
    const inB = watchOf(hub, { resourceVersion: '1', namespace: 'store-b' });
    hub.publish('MODIFIED', at(3, job('install', 'b')), 3);
    hub.publish('ADDED', at(4, { ...job('x', 'a'), kind: 'Pod' }), 4);
    hub.publish(
      'ADDED',
      at(5, { ...job('unlabelled', 'a'), metadata: { name: 'unlabelled' } }),
      5,
    );
    hub.publish('DELETED', at(6, job('install', 'a')), 6);
    expect(await sent(all, 3)).toEqual([
      'ADDED install@2',
      'MODIFIED install@3',
      'DELETED install@6',
    ]);
    expect(await sent(inB, 1)).toEqual(['MODIFIED install@3']);
    expect(hub.openWatches).toBe(2);
    await all.cancel();
    await inB.cancel();
    expect(hub.openWatches).toBe(0);
  });

  it('starts a watch without a resourceVersion with the objects there are now', async () => {
    expect(await sent(watchOf(new FakeWatchHub()), 1)).toEqual([
      'ADDED now@undefined',
    ]);
  });

  it('answers 410 Gone for a resourceVersion older than its history, as the API server does', async () => {
    const hub = new FakeWatchHub({ historyLimit: 2 });
    for (let rv = 1; rv <= 5; rv++)
      hub.publish('ADDED', job(`j${rv}`, 'a'), rv);
    expect(await sent(watchOf(hub, { resourceVersion: '1' }), 1)).toEqual([
      'ERROR 410',
    ]);
    expect(hub.openWatches).toBe(0);
    // From the oldest kept event on, it resumes.
    expect(await sent(watchOf(hub, { resourceVersion: '3' }), 2)).toHaveLength(
      2,
    );
  });

  it('sends bookmarks with the latest resourceVersion and ends the request after timeoutSeconds', async () => {
    const hub = new FakeWatchHub({ bookmarkIntervalMs: 20 });
    hub.publish('ADDED', job('j', 'a', 'elsewhere'), 7);
    const stream = hub.open({
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace: 'store-a',
      labelSelector: null,
      resourceVersion: '7',
      allowBookmarks: true,
      timeoutSeconds: 0.1,
      current: () => [],
    });
    const text = await new Response(stream).text();
    const events = text
      .trim()
      .split('\n')
      .map(line => JSON.parse(line));
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.type).toBe('BOOKMARK');
      expect(event.object.metadata.resourceVersion).toBe('7');
    }
    expect(hub.openWatches).toBe(0);
  });
});

describe('matchesLabelSelector', () => {
  it.each([
    ['a=1', true],
    ['a=2', false],
    ['a!=2', true],
    ['a!=1', false],
    ['a', true],
    ['!a', false],
    ['b', false],
    ['!b', true],
    ['a=1,b', false],
    ['a=1,!b', true],
  ])('%s', (selector, matches) => {
    expect(matchesLabelSelector({ a: '1' }, selector)).toBe(matches);
  });
});
