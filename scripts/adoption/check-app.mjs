#!/usr/bin/env node
/* eslint-disable no-console */
// Browser check of the app that scripts/adoption.sh created and started: the Storeplane
// template renders and creates a store, the store gets its catalog entity with the Store tab,
// and the Stores page lists it. Headless Debian Chromium through playwright-core.
//
//   node scripts/adoption/check-app.mjs <app-url>
//
// Prints `ok - <step>` / `not ok - <step>: <reason>` and exits non-zero when a step failed;
// later steps are skipped after a failure because each needs the one before it.
import { chromium } from 'playwright-core';

const APP_URL = process.argv[2];
if (!APP_URL) {
  console.error('usage: check-app.mjs <app-url>');
  process.exit(2);
}
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const STORE_NAME = 'adoption-shop';
const TIMEOUT = 30_000;

let failure;
async function step(name, fn) {
  if (failure) {
    console.log(`ok - ${name} # SKIP after: ${failure}`);
    return;
  }
  const started = Date.now();
  try {
    const note = await fn();
    console.log(
      `ok - ${name}${note ? ` (${note})` : ''} [${Date.now() - started} ms]`,
    );
  } catch (e) {
    failure = name;
    console.log(
      `not ok - ${name}: ${String(e?.message ?? e)
        .split('\n')[0]
        .slice(0, 300)}`,
    );
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.setDefaultTimeout(TIMEOUT);
const pageErrors = [];
page.on('pageerror', e => pageErrors.push(e.message));

/** The guest's Backstage token, read from the signed-in app's own identity API. */
async function storesApi(path) {
  return page.evaluate(
    async ([url, apiPath]) => {
      const refresh = await fetch(`${url}/api/auth/guest/refresh`, {
        headers: { 'X-Requested-With': 'XMLHttpRequest' },
        credentials: 'include',
      });
      const { backstageIdentity } = await refresh.json();
      const res = await fetch(`${url}/api/stores${apiPath}`, {
        headers: { Authorization: `Bearer ${backstageIdentity.token}` },
      });
      return { status: res.status, body: await res.json() };
    },
    [APP_URL, path],
  );
}

let storeId;
try {
  await step('sign in as guest', async () => {
    await page.goto(APP_URL, { timeout: 120_000 });
    await page.getByRole('button', { name: /^enter$/i }).click();
    await page.getByRole('link', { name: 'Catalog' }).first().waitFor();
  });

  await step('sidebar: Stores item', async () => {
    const item = page.getByRole('link', { name: 'Stores', exact: true });
    await item.waitFor();
    assert(
      (await item.getAttribute('href')) === '/stores',
      `href ${await item.getAttribute('href')}`,
    );
  });

  await step('Stores page renders with "Create store"', async () => {
    await page.getByRole('link', { name: 'Stores', exact: true }).click();
    await page.getByRole('heading', { name: 'Stores', exact: true }).waitFor();
    const create = page.getByRole('button', { name: 'Create store' });
    await create.waitFor();
    const href = await create.getAttribute('href');
    assert(
      href === '/create/templates/default/woocommerce-store',
      `"Create store" leads to ${href}`,
    );
    return `"Create store" → ${href}`;
  });

  await step(
    'template form renders: Store name, Owner, Engine, Plan',
    async () => {
      await page.getByRole('button', { name: 'Create store' }).click();
      for (const label of ['Store name', 'Owner', 'Engine', 'Plan']) {
        await page
          .locator('label')
          .filter({ hasText: new RegExp(`^${label}\\b`) })
          .first()
          .waitFor();
      }
      // The engine field (plugin's form field extension) lists the backend's GET /engines.
      await page
        .getByRole('button', { name: /WooCommerce/ })
        .first()
        .waitFor();
    },
  );

  await step(`template creates store "${STORE_NAME}"`, async () => {
    await page.getByRole('textbox', { name: /store name/i }).fill(STORE_NAME);
    const owner = page.getByLabel(/^Owner/).first();
    await owner.click();
    await owner.fill('guests');
    await page
      .getByRole('option', { name: /guests/i })
      .first()
      .click();
    await page.getByRole('button', { name: /^(next|review)$/i }).click();
    await page.getByRole('button', { name: /^create$/i }).click();
    await page.waitForURL(/\/create\/tasks\/[^/]+/);
    // The action creates the store at once, then waits for Ready (never, without a cluster).
    const until = Date.now() + 60_000;
    for (;;) {
      const { status, body } = await storesApi('/stores');
      assert(status === 200, `GET /api/stores/stores: HTTP ${status}`);
      const store = body.items.find(s => s.name === STORE_NAME);
      if (store) {
        storeId = store.id;
        return `store ${store.id} is ${store.status}`;
      }
      assert(Date.now() < until, 'no store after 60 s');
      await page.waitForTimeout(1000);
    }
  });

  await step('store entity: overview card and Store tab', async () => {
    const url = `${APP_URL}/catalog/default/resource/store-${storeId}`;
    // The catalog module adds the entity on the store's change event; reload until it is there.
    const tab = page.getByRole('link', { name: 'Store', exact: true });
    const until = Date.now() + 90_000;
    await page.goto(url);
    while (!(await tab.isVisible())) {
      assert(Date.now() < until, 'no Store tab on the store entity');
      await page.waitForTimeout(2000);
      await page.reload();
      await tab.waitFor({ timeout: 5_000 }).catch(() => {});
    }
    await page.getByRole('heading', { name: 'Store', exact: true }).waitFor();
    await tab.click();
    await page.getByText('Namespace and guardrails').first().waitFor();
    await page.getByText('Provisioning').first().waitFor();
  });

  await step(`Stores page lists "${STORE_NAME}"`, async () => {
    await page.goto(`${APP_URL}/stores`);
    await page.getByRole('link', { name: STORE_NAME, exact: true }).waitFor();
  });

  await step('no uncaught errors in the page', async () => {
    assert(pageErrors.length === 0, pageErrors.join(' | '));
  });
} finally {
  await browser.close();
}
process.exit(failure ? 1 : 0);
