// Browser e2e steps for quota use and cost (issue 16), run by app.e2e.js on the sandbox with
// the prices of e2e/app-config.e2e.yaml:
//
// 1. The Store tab's Quota and cost card shows, as each resource's quota, the `hard` of the
//    store namespace's ResourceQuota as the sandbox's API server reports it (read here with the
//    sandbox's admin kubeconfig), and the plan's monthly estimate: those requests priced here.
// 2. The Stores page shows that estimate in its Monthly cost column, and its per-owner table
//    counts the owner's stores (GET /stores) and adds up their plan estimates (GET /plan-costs).
'use strict';

const { sandboxAdmin } = require('./liveStatus');

/** storeplane.cost in e2e/app-config.e2e.yaml. */
const PRICES = {
  currency: 'EUR',
  cpuCoreMonth: 20,
  memoryGiBMonth: 2,
  storageGiBMonth: 0.5,
};
const OWNER = 'group:default/shop-team';
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const SUFFIXES = { m: 1e-3, Ki: 1024, Mi: MIB, Gi: GIB, Ti: 1024 ** 4 };

/** The quantities a ResourceQuota's hard holds (`750m`, `640Mi`, `2Gi`, `4`), as numbers. */
function quantity(text) {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!match) throw new Error(`unexpected quantity "${text}"`);
  return Number(match[1]) * (match[2] ? SUFFIXES[match[2]] : 1);
}

const decimal = (value, digits) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits });
const money = amount =>
  new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: PRICES.currency,
  }).format(amount);

async function runQuotaCostSteps({
  page,
  lifecycleStep,
  assert,
  token,
  storeUrl,
  APP_URL,
  BACKEND_URL,
}) {
  const headers = { Authorization: `Bearer ${token}` };
  const getJson = async url => {
    const res = await fetch(`${BACKEND_URL}/api/stores${url}`, { headers });
    assert(res.ok, `GET ${url}: HTTP ${res.status}`);
    return res.json();
  };
  let planMonthly;
  let storeName;

  await lifecycleStep(
    "store tab: Quota and cost card shows the namespace quota as the API server reports it, and the plan's monthly estimate",
    async () => {
      const id = new URL(storeUrl).pathname
        .split('/')
        .pop()
        .replace(/^store-/, '');
      const store = await getJson(`/stores/${id}`);
      storeName = store.name;
      const admin = await sandboxAdmin();
      const quota = await admin.read(
        'v1',
        'ResourceQuota',
        store.namespace,
        'storeplane-quota',
      );
      // status.hard is what the quota controller enforces; spec.hard until it has looked.
      const hard = (quota.status && quota.status.hard) || quota.spec.hard;
      const cpu = quantity(hard['requests.cpu']);
      const memory = quantity(hard['requests.memory']);
      const storage = quantity(hard['requests.storage']);
      const expected = {
        CPU: `${decimal(cpu, 3)} ${cpu === 1 ? 'core' : 'cores'}`,
        Memory:
          memory >= GIB
            ? `${decimal(memory / GIB, 2)} GiB`
            : `${decimal(memory / MIB, 1)} MiB`,
        Storage:
          storage >= GIB
            ? `${decimal(storage / GIB, 2)} GiB`
            : `${decimal(storage / MIB, 1)} MiB`,
        Pods: decimal(quantity(hard.pods), 0),
      };
      await page.goto(`${storeUrl}/store`);
      const table = page.getByRole('table', { name: 'Quota use' });
      await table.waitFor();
      // Each row: the resource, Used, Quota, Share used.
      const rows = await table.evaluate(el =>
        [...el.querySelectorAll('tbody tr')].map(tr =>
          [...tr.children].map(cell => cell.innerText.trim()),
        ),
      );
      const shown = Object.fromEntries(
        rows.map(([label, , quotaText]) => [label, quotaText]),
      );
      assert(
        JSON.stringify(shown) === JSON.stringify(expected),
        `quota column shows ${JSON.stringify(
          shown,
        )}, the API server ${JSON.stringify(expected)}`,
      );
      planMonthly =
        Math.round(
          (cpu * PRICES.cpuCoreMonth +
            (memory / GIB) * PRICES.memoryGiBMonth +
            (storage / GIB) * PRICES.storageGiBMonth) *
            100,
        ) / 100;
      const estimate = `Plan estimate: ${money(planMonthly)} a month`;
      await page.getByText(estimate).waitFor();
      await page.getByText(`Prices in ${PRICES.currency}`).waitFor();
      return `${Object.entries(shown)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; ${estimate}`;
    },
  );

  await lifecycleStep(
    "stores page: Monthly cost column, and the owner's total over its stores",
    async () => {
      await page.goto(`${APP_URL}/stores`);
      const header = page.getByRole('columnheader', {
        name: `Monthly cost (${PRICES.currency})`,
      });
      await header.waitFor({ timeout: 20_000 });
      const row = page
        .getByRole('row')
        .filter({
          has: page.getByRole('link', { name: storeName, exact: true }),
        })
        .first();
      await row.getByText(money(planMonthly), { exact: true }).waitFor();

      // Every store of the owner, from the API, priced by its plan: the backend's per-owner
      // total (counted in SQL) must match. A store of the live-status steps may still be
      // going away, so compare until both agree.
      const planCosts = await getJson('/plan-costs');
      const priceOf = s =>
        planCosts.items.find(c => c.engine === s.engine && c.plan === s.plan)
          .monthly;
      const totals = page.getByRole('region', {
        name: 'Monthly cost per owner',
      });
      // Owner, Stores, Monthly total of each row (none until the backend has answered).
      const ownerCells = () =>
        totals
          .evaluate(
            el =>
              [...el.querySelectorAll('tbody tr')].map(tr =>
                [...tr.children].map(cell => cell.innerText.trim()),
              ),
            undefined,
            { timeout: 2_000 },
          )
          .then(
            rows => rows.find(([owner]) => /shop[- ]team/i.test(owner)) || [],
            () => [],
          );
      const until = Date.now() + 30_000;
      let last;
      for (;;) {
        const { items } = await getJson(
          `/stores?owner=${encodeURIComponent(OWNER)}&limit=200`,
        );
        const cents = items.reduce(
          (sum, s) => sum + Math.round(priceOf(s) * 100),
          0,
        );
        const want = [String(items.length), money(cents / 100)];
        const cells = await ownerCells();
        last = `owner row ${JSON.stringify(cells)}, API ${JSON.stringify(
          want,
        )}`;
        if (cells[1] === want[0] && cells[2] === want[1]) break;
        assert(Date.now() < until, last);
        await page.waitForTimeout(1000);
      }
      return `${storeName} at ${money(planMonthly)}; ${last}`;
    },
  );
}

module.exports = { runQuotaCostSteps };
