import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const VARIABLES = ['HOME', 'KUBECONFIG', 'KUBERNETES_SERVICE_HOST'] as const;

/**
 * Runs the surrounding tests where no cluster can be found: HOME is a new empty directory,
 * KUBECONFIG and KUBERNETES_SERVICE_HOST are unset (not in a pod). Everything is restored and
 * the directory removed afterwards. `once` sets this up for the whole block instead of for
 * each test. Returns the home directory (valid inside the tests).
 */
export function withoutKubeconfig(options: { once?: boolean } = {}): {
  home(): string;
} {
  const saved = Object.fromEntries(VARIABLES.map(v => [v, process.env[v]]));
  let home = '';
  const setUp = options.once ? beforeAll : beforeEach;
  const tearDown = options.once ? afterAll : afterEach;
  setUp(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'storeplane-home-'));
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
  });
  tearDown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(home, { recursive: true, force: true });
  });
  return { home: () => home };
}
