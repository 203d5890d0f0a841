import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readKubernetesSettings } from '../config/readKubernetesSettings';
import { loadKubeConfig, NoClusterConfiguredError } from './loadKubeConfig';

const settings = (kubernetes: JsonObject = {}) =>
  readKubernetesSettings(new ConfigReader({ storeplane: { kubernetes } }));

function kubeconfig(server: string, currentContext = 'dev', name = 'dev') {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server } }],
    users: [{ name, user: { token: 'secret-token' } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': currentContext,
  });
}

describe('loadKubeConfig', () => {
  const saved = {
    KUBECONFIG: process.env.KUBECONFIG,
    HOME: process.env.HOME,
    KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST,
  };
  let dir: string;
  let home: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storeplane-kubeconfig-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(home);
    // No kubeconfig anywhere: an empty home, no KUBECONFIG, not in a pod.
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
  });

  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('finds no cluster when there is no kubeconfig, instead of assuming localhost:8080', () => {
    expect(() => loadKubeConfig(settings())).toThrow(
      new NoClusterConfiguredError(
        `there is no kubeconfig (storeplane.kubernetes.kubeconfigPath and KUBECONFIG are unset, and ${home}/.kube/config does not exist)`,
      ),
    );
  });

  it('names a configured kubeconfigPath that does not exist', () => {
    expect(() =>
      loadKubeConfig(settings({ kubeconfigPath: '/nowhere/config' })),
    ).toThrow(
      'there is no kubeconfig (storeplane.kubernetes.kubeconfigPath is /nowhere/config, which does not exist)',
    );
  });

  it('names KUBECONFIG when none of its files exist', () => {
    process.env.KUBECONFIG = `/nowhere/a${path.delimiter}/nowhere/b`;
    expect(() => loadKubeConfig(settings())).toThrow(
      `KUBECONFIG is /nowhere/a${path.delimiter}/nowhere/b, and none of it exists`,
    );
  });

  it('reads ~/.kube/config, then KUBECONFIG (merged, first file wins), then kubeconfigPath', () => {
    fs.mkdirSync(path.join(home, '.kube'));
    fs.writeFileSync(
      path.join(home, '.kube', 'config'),
      kubeconfig('https://home.example:6443'),
    );
    expect(loadKubeConfig(settings()).getCurrentCluster()?.server).toBe(
      'https://home.example:6443',
    );

    const first = write('first', kubeconfig('https://first.example:6443'));
    const second = write(
      'second',
      kubeconfig('https://second.example:6443', 'other', 'other'),
    );
    process.env.KUBECONFIG = `/nowhere${path.delimiter}${first}${path.delimiter}${second}`;
    expect(loadKubeConfig(settings()).getCurrentCluster()?.server).toBe(
      'https://first.example:6443',
    );

    expect(
      loadKubeConfig(settings({ kubeconfigPath: second })).getCurrentCluster()
        ?.server,
    ).toBe('https://second.example:6443');
  });

  it('refuses a kubeconfig without a usable current context', () => {
    const file = write(
      'config',
      kubeconfig('https://dev.example:6443', 'missing'),
    );
    expect(() => loadKubeConfig(settings({ kubeconfigPath: file }))).toThrow(
      'the kubeconfig has no current context with a cluster',
    );
    expect(() =>
      loadKubeConfig(settings({ kubeconfigPath: file, context: 'other' })),
    ).toThrow("the kubeconfig has no context 'other' with a cluster");
    expect(
      loadKubeConfig(
        settings({ kubeconfigPath: file, context: 'dev' }),
      ).getCurrentCluster()?.server,
    ).toBe('https://dev.example:6443');
  });

  it('says why a kubeconfig cannot be read', () => {
    const file = write('broken', 'clusters: [');
    expect(() => loadKubeConfig(settings({ kubeconfigPath: file }))).toThrow(
      new RegExp(`^the kubeconfig ${file} cannot be read: `),
    );
  });

  it('refuses inCluster outside a pod', () => {
    expect(() => loadKubeConfig(settings({ source: 'inCluster' }))).toThrow(
      /source is inCluster, but Backstage does not run in a Kubernetes pod/,
    );
  });

  it('builds a url source from config alone', () => {
    const kc = loadKubeConfig(
      settings({ source: 'url', url: 'https://api.example:6443', token: 't' }),
    );
    expect(kc.getCurrentCluster()?.server).toBe('https://api.example:6443');
  });
});
