import { ConfigReader } from '@backstage/config';
import {
  NoClusterConfiguredError,
  readKubernetesSettings,
} from '@storeplane/plugin-stores-node';
import fs from 'node:fs';
import path from 'node:path';
import { withoutKubeconfig } from '@internal/stores-test-utils';
import { lazyKubernetesClient } from './lazyKubernetesClient';

describe('lazyKubernetesClient', () => {
  const { home } = withoutKubeconfig();

  it('keeps looking until a kubeconfig appears, then keeps the client', () => {
    const client = lazyKubernetesClient(
      readKubernetesSettings(new ConfigReader({})),
    );
    expect(client).toThrow(NoClusterConfiguredError);
    fs.mkdirSync(path.join(home(), '.kube'));
    fs.writeFileSync(
      path.join(home(), '.kube', 'config'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'dev', cluster: { server: 'https://late.example:6443' } },
        ],
        users: [{ name: 'dev', user: { token: 't' } }],
        contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'dev' } }],
        'current-context': 'dev',
      }),
    );
    const first = client();
    fs.rmSync(path.join(home(), '.kube'), { recursive: true });
    expect(client()).toBe(first);
  });
});
