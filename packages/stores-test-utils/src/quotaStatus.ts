/**
 * What the kube-controller-manager's quota controller writes into a ResourceQuota's status:
 * `hard` copied from the spec and `used` counted from the namespace's pods (not finished) and
 * volume claims, for the keys the quota limits, in canonical quantities.
 */
type Obj = any;

const units: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

function parse(quantity: string | undefined): number {
  if (!quantity) return 0;
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(quantity);
  if (!match || units[match[2]] === undefined)
    throw new Error(`fake: cannot parse quantity '${quantity}'`);
  return Number(match[1]) * units[match[2]];
}

function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function formatBytes(bytes: number): string {
  for (const suffix of ['Ti', 'Gi', 'Mi', 'Ki']) {
    if (bytes !== 0 && bytes % units[suffix] === 0)
      return `${bytes / units[suffix]}${suffix}`;
  }
  return String(bytes);
}

export function quotaStatus(quota: Obj, pods: Obj[], claims: Obj[]) {
  const active = pods.filter(
    pod => !['Succeeded', 'Failed'].includes(pod.status?.phase),
  );
  const containerSum = (section: 'requests' | 'limits', resource: string) =>
    active
      .flatMap(pod => pod.spec?.containers ?? [])
      .reduce(
        (total: number, container: Obj) =>
          total + parse(container.resources?.[section]?.[resource]),
        0,
      );
  const counted: Record<string, () => string> = {
    'requests.cpu': () => formatCpu(containerSum('requests', 'cpu')),
    'limits.cpu': () => formatCpu(containerSum('limits', 'cpu')),
    'requests.memory': () => formatBytes(containerSum('requests', 'memory')),
    'limits.memory': () => formatBytes(containerSum('limits', 'memory')),
    'requests.storage': () =>
      formatBytes(
        claims.reduce(
          (total, claim) =>
            total + parse(claim.spec?.resources?.requests?.storage),
          0,
        ),
      ),
    persistentvolumeclaims: () => String(claims.length),
    pods: () => String(active.length),
  };
  const hard: Record<string, string> = quota.spec?.hard ?? {};
  return {
    hard: { ...hard },
    used: Object.fromEntries(
      Object.keys(hard).map(key => [key, counted[key]?.() ?? '0']),
    ),
  };
}
