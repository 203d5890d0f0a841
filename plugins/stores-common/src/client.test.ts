import { ResponseError } from '@backstage/errors';
import { StoresClient } from './client';

/** A fetch that records each request and answers with the next queued response. */
function recordingFetch(...responses: Response[]) {
  const requests: Array<{ url: string; init: RequestInit }> = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit) => {
    requests.push({ url: String(input), init: init ?? {} });
    return responses.shift()!;
  };
  return { requests, fetchApi: { fetch: fetchFn as typeof fetch } };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });

const discoveryApi = {
  getBaseUrl: async (pluginId: string) => `http://backstage/api/${pluginId}`,
};

describe('StoresClient', () => {
  it('sends the list filters as a query, with the token, uncached', async () => {
    const page = { items: [], totalCount: 0, offset: 0, limit: 10 };
    const { requests, fetchApi } = recordingFetch(json(200, page));
    const client = new StoresClient({ discoveryApi, fetchApi });
    const controller = new AbortController();

    await expect(
      client.listStores(
        { owner: 'group:default/team-a', status: 'Ready', limit: 10 },
        { token: 'secret', signal: controller.signal },
      ),
    ).resolves.toEqual(page);

    const [{ url, init }] = requests;
    expect(url).toBe(
      'http://backstage/api/stores/stores?owner=group%3Adefault%2Fteam-a&status=Ready&limit=10',
    );
    expect(init.method).toBe('GET');
    expect(init.cache).toBe('no-store');
    expect(init.signal).toBe(controller.signal);
    expect(new Headers(init.headers).get('Authorization')).toBe(
      'Bearer secret',
    );
  });

  it('posts a create request as JSON', async () => {
    const { requests, fetchApi } = recordingFetch(
      json(201, { id: 'shop-a1b2c' }),
    );
    const client = new StoresClient({ discoveryApi, fetchApi });
    const body = { name: 'shop', owner: 'group:default/team-a' };

    await expect(client.createStore(body)).resolves.toEqual({
      id: 'shop-a1b2c',
    });
    expect(requests[0].url).toBe('http://backstage/api/stores/stores');
    expect(requests[0].init.method).toBe('POST');
    expect(JSON.parse(String(requests[0].init.body))).toEqual(body);
  });

  it('posts a backup request with an empty body and lists backups', async () => {
    const backup = {
      id: 'b1',
      status: 'Pending',
      requestedBy: 'user:default/ann',
      sizeBytes: null,
      createdAt: '2026-11-28T10:00:00.000Z',
      finishedAt: null,
      message: null,
    };
    const { requests, fetchApi } = recordingFetch(
      json(202, backup),
      json(200, { items: [backup] }),
    );
    const client = new StoresClient({ discoveryApi, fetchApi });

    await expect(client.requestBackup('shop-a1b2c')).resolves.toEqual(backup);
    await expect(client.listBackups('shop-a1b2c')).resolves.toEqual({
      items: [backup],
    });
    expect(requests.map(r => [r.init.method, r.url])).toEqual([
      ['POST', 'http://backstage/api/stores/stores/shop-a1b2c/backups'],
      ['GET', 'http://backstage/api/stores/stores/shop-a1b2c/backups'],
    ]);
    expect(JSON.parse(String(requests[0].init.body))).toEqual({});
  });

  it('downloads a backup as a Blob named by the backend, and posts a restore', async () => {
    const bytes = new Uint8Array([0x1f, 0x8b, 8, 0]);
    const { requests, fetchApi } = recordingFetch(
      new Response(bytes, {
        status: 200,
        headers: {
          'Content-Type': 'application/gzip',
          'Content-Disposition':
            'attachment; filename="shop-a1b2c-20261128T093000Z.sql.gz"',
        },
      }),
      json(202, { id: 'shop-a1b2c', status: 'Restoring' }),
      json(409, {
        error: { name: 'ConflictError', message: 'Backup b1 is Running' },
        response: { statusCode: 409 },
      }),
    );
    const client = new StoresClient({ discoveryApi, fetchApi });

    const file = await client.downloadBackup('shop-a1b2c', 'b1', {
      token: 'secret',
    });
    expect(file.fileName).toBe('shop-a1b2c-20261128T093000Z.sql.gz');
    expect(new Uint8Array(await file.content.arrayBuffer())).toEqual(bytes);
    await expect(client.restoreBackup('shop-a1b2c', 'b1')).resolves.toEqual({
      id: 'shop-a1b2c',
      status: 'Restoring',
    });
    const refusal = await client
      .downloadBackup('shop-a1b2c', 'b2')
      .catch(error => error);
    expect(ResponseError.is(refusal)).toBe(true);
    expect(refusal.body.error.message).toBe('Backup b1 is Running');
    expect(requests.map(r => [r.init.method, r.url])).toEqual([
      [
        'GET',
        'http://backstage/api/stores/stores/shop-a1b2c/backups/b1/download',
      ],
      [
        'POST',
        'http://backstage/api/stores/stores/shop-a1b2c/backups/b1/restore',
      ],
      [
        'GET',
        'http://backstage/api/stores/stores/shop-a1b2c/backups/b2/download',
      ],
    ]);
    expect(new Headers(requests[0].init.headers).get('Authorization')).toBe(
      'Bearer secret',
    );
  });

  it('escapes the store id in the path', async () => {
    const { requests, fetchApi } = recordingFetch(json(200, { items: [] }));
    await new StoresClient({ discoveryApi, fetchApi }).getStoreEvents('a/b?c');
    expect(requests[0].url).toBe(
      'http://backstage/api/stores/stores/a%2Fb%3Fc/events',
    );
  });

  it('passes the page of events and of the list as query parameters', async () => {
    const { requests, fetchApi } = recordingFetch(
      json(200, { items: [] }),
      json(200, { items: [] }),
    );
    const client = new StoresClient({ discoveryApi, fetchApi });
    await client.getStoreEvents('shop-a1b2c', undefined, {
      cursor: 'eyJ+',
      limit: 20,
    });
    await client.listStores({ cursor: 'eyJ+', limit: 100 });
    expect(requests.map(r => r.url)).toEqual([
      'http://backstage/api/stores/stores/shop-a1b2c/events?cursor=eyJ%2B&limit=20',
      'http://backstage/api/stores/stores?cursor=eyJ%2B&limit=100',
    ]);
  });

  it('throws a ResponseError carrying the backend error for a non-2xx answer', async () => {
    const { fetchApi } = recordingFetch(
      json(409, {
        error: {
          name: 'ConflictError',
          message: 'Only a Failed store can be retried',
        },
        response: { statusCode: 409 },
      }),
    );
    const error = await new StoresClient({ discoveryApi, fetchApi })
      .retryStore('shop-a1b2c')
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(409);
    expect(error.body.error).toEqual({
      name: 'ConflictError',
      message: 'Only a Failed store can be retried',
    });
  });
});
