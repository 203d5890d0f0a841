import {
  mockCredentials,
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import { withoutKubeconfig } from '@internal/stores-test-utils';
import { readKubernetesSettings } from '@storeplane/plugin-stores-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import fs from 'node:fs';
import path from 'node:path';
import { StoreplaneClusterSupplier } from './StoreplaneClusterSupplier';

const API = 'https://stores-cluster.example:6443';
const TOKEN = 'storeplane-service-account-token';
const credentials = { credentials: mockCredentials.user() };

const settings = (kubernetes: JsonObject) =>
  readKubernetesSettings(new ConfigReader({ storeplane: { kubernetes } }));

describe('StoreplaneClusterSupplier', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  let apiGroups: string[];
  let discoveryCalls: number;
  let discoveryAuthorization: string | null;

  beforeEach(() => {
    apiGroups = ['apps'];
    discoveryCalls = 0;
    server.use(
      http.get(`${API}/apis`, ({ request }) => {
        discoveryCalls++;
        discoveryAuthorization = request.headers.get('authorization');
        return HttpResponse.json({
          kind: 'APIGroupList',
          groups: apiGroups.map(name => ({ name, versions: [] })),
        });
      }),
    );
  });

  it("offers the cluster of storeplane.kubernetes with Storeplane's bearer token", async () => {
    const supplier = new StoreplaneClusterSupplier({
      settings: settings({
        source: 'url',
        url: API,
        token: TOKEN,
        caData: 'Y2EtZGF0YQ==',
      }),
      logger: mockServices.logger.mock(),
    });

    expect(await supplier.getClusters(credentials)).toEqual([
      {
        name: 'storeplane',
        title: 'Storeplane stores',
        url: API,
        authMetadata: {
          'kubernetes.io/auth-provider': 'serviceAccount',
          serviceAccountToken: TOKEN,
        },
        skipTLSVerify: false,
        caData: 'Y2EtZGF0YQ==',
        caFile: undefined,
        skipMetricsLookup: true,
      },
    ]);
    expect(discoveryAuthorization).toBe(`Bearer ${TOKEN}`);
  });

  it('looks up pod metrics only where metrics-server serves them, checking every 10 minutes', async () => {
    let now = 0;
    const supplier = new StoreplaneClusterSupplier({
      settings: settings({ source: 'url', url: API, token: TOKEN }),
      logger: mockServices.logger.mock(),
      now: () => now,
    });
    const skip = async () =>
      (await supplier.getClusters(credentials))[0].skipMetricsLookup;

    expect(await skip()).toBe(true);
    apiGroups.push('metrics.k8s.io');
    now += 5 * 60_000;
    expect(await skip()).toBe(true);
    now += 6 * 60_000;
    expect(await skip()).toBe(false);
    expect(discoveryCalls).toBe(2);
  });

  it("lists the operator's own clusters first", async () => {
    const other = {
      name: 'other',
      url: 'https://other.example',
      authMetadata: {},
    };
    const supplier = new StoreplaneClusterSupplier({
      settings: settings({ source: 'url', url: API, token: TOKEN }),
      logger: mockServices.logger.mock(),
      others: { getClusters: async () => [other] },
    });

    expect((await supplier.getClusters(credentials)).map(c => c.name)).toEqual([
      'other',
      'storeplane',
    ]);
  });

  describe('without a usable identity', () => {
    const { home } = withoutKubeconfig();

    it('offers nothing when no cluster is configured, and says so once', async () => {
      const logger = mockServices.logger.mock();
      const supplier = new StoreplaneClusterSupplier({
        settings: settings({}),
        logger,
      });

      expect(await supplier.getClusters(credentials)).toEqual([]);
      expect(await supplier.getClusters(credentials)).toEqual([]);
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /not shown on Kubernetes tabs: no Kubernetes cluster is configured \(there is no kubeconfig/,
        ),
      );
    });

    it('offers nothing for a client-certificate identity, which the Kubernetes plugin cannot use', async () => {
      const file = path.join(home(), 'config');
      fs.writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: API } }],
          users: [
            {
              name: 'u',
              user: {
                'client-certificate-data':
                  Buffer.from('cert').toString('base64'),
                'client-key-data': Buffer.from('key').toString('base64'),
              },
            },
          ],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
      );
      const logger = mockServices.logger.mock();
      const supplier = new StoreplaneClusterSupplier({
        settings: settings({ kubeconfigPath: file }),
        logger,
      });

      expect(await supplier.getClusters(credentials)).toEqual([]);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/has no bearer token/),
      );
    });
  });
});
