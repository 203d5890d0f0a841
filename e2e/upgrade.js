/* eslint-disable no-console */
// Browser e2e steps for a real chart upgrade (issue 14), run by app.e2e.js on the sandbox once
// its store is Ready. An operator upgrades Storeplane and with it the chart it ships: here
// scripts/e2e.sh has put a copy of charts/woocommerce-store with a higher Chart.yaml version in
// its temp dir (E2E_UPGRADE_CHART) and passes an extra config file (E2E_UPGRADE_CONFIG).
//
// `yarn dev` runs the frontend and the backend in one process, and restarts only the backend
// when a file it loaded changes; the in-memory SQLite database survives that restart (Backstage's
// dev data store), as a deployment's database survives a rollout. So the steps point
// storeplane.helm.chart.path at the newer chart, touch the backend's entry file (its content
// stays the same) and wait for the new backend. The frontend and the sandbox keep running.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const RESTART_TIMEOUT_MS = 180_000;
const UPGRADE_TIMEOUT_MS = 240_000;
const BACKEND_ENTRY = path.join(
  __dirname,
  '..',
  'packages',
  'backend',
  'src',
  'index.ts',
);

async function readiness(backendUrl) {
  try {
    const res = await fetch(`${backendUrl}/.backstage/health/v1/readiness`, {
      signal: AbortSignal.timeout(2_000),
    });
    return res.status;
  } catch {
    return 0;
  }
}

function chartVersionOf(chartDir) {
  const chart = fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8');
  return /^version:\s*["']?([^"'\s]+)/m.exec(chart)[1];
}

async function runUpgradeSteps({
  page,
  lifecycleStep,
  assert,
  storeUrl,
  BACKEND_URL,
}) {
  const chartDir = process.env.E2E_UPGRADE_CHART;
  const configFile = process.env.E2E_UPGRADE_CONFIG;
  const newVersion = chartDir ? chartVersionOf(chartDir) : undefined;

  await lifecycleStep(
    'restart only the backend, now shipping a newer chart',
    async () => {
      assert(
        chartDir && configFile,
        'E2E_UPGRADE_CHART and E2E_UPGRADE_CONFIG are not set (run scripts/e2e.sh)',
      );
      fs.writeFileSync(
        configFile,
        `storeplane:\n  helm:\n    chart:\n      path: ${JSON.stringify(
          chartDir,
        )}\n`,
      );
      const started = Date.now();
      const now = new Date();
      fs.utimesSync(BACKEND_ENTRY, now, now);
      while ((await readiness(BACKEND_URL)) === 200) {
        assert(
          Date.now() - started < 30_000,
          'the backend did not restart within 30 s of touching its entry file',
        );
        await new Promise(r => setTimeout(r, 100));
      }
      while ((await readiness(BACKEND_URL)) !== 200) {
        assert(
          Date.now() - started < RESTART_TIMEOUT_MS,
          `the backend is not ready ${
            RESTART_TIMEOUT_MS / 1000
          } s after its restart`,
        );
        await new Promise(r => setTimeout(r, 500));
      }
      return `backend ready again after ${(
        (Date.now() - started) /
        1000
      ).toFixed(1)} s, chart ${newVersion}`;
    },
  );

  await lifecycleStep(
    `store tab: upgrade to chart ${newVersion}, Updating and Ready again`,
    async () => {
      await page.goto(storeUrl);
      await page.getByRole('tab', { name: /^store$/i }).click();
      const status = page.getByRole('heading', { name: 'Status' }).first();
      await status.waitFor();
      const before = page.getByText(/ · chart [^ ]+ · namespace /).first();
      await before.waitFor();
      const oldVersion = / · chart ([^ ]+) · /.exec(
        await before.innerText(),
      )[1];
      assert(
        oldVersion !== newVersion,
        `the store already runs chart ${newVersion}`,
      );
      await page.getByRole('button', { name: /^upgrade$/i }).click();
      const dialog = page.getByRole('dialog');
      const text = (await dialog.innerText()).replace(/\s+/g, ' ');
      assert(
        text.includes(`from chart ${oldVersion}`),
        `dialog reads "${text}"`,
      );
      const started = Date.now();
      await dialog.getByRole('button', { name: /^upgrade store$/i }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('Updating', { exact: true }).first().waitFor();
      const updatingAfter = (Date.now() - started) / 1000;
      await page
        .getByText(` · chart ${newVersion} · namespace `, { exact: false })
        .first()
        .waitFor({ timeout: UPGRADE_TIMEOUT_MS });
      await page
        .getByText('Ready', { exact: true })
        .first()
        .waitFor({ timeout: UPGRADE_TIMEOUT_MS });
      assert(
        !(await page
          .getByText('Updating', { exact: true })
          .first()
          .isVisible()),
        'still shown as Updating',
      );
      return `chart ${oldVersion} -> ${newVersion}: Updating after ${updatingAfter.toFixed(
        1,
      )} s, Ready after ${((Date.now() - started) / 1000).toFixed(1)} s`;
    },
  );

  await lifecycleStep(
    'store tab: activity shows the Helm upgrade and the update',
    async () => {
      const found = [];
      const version = newVersion.replace(/\./g, '\\.');
      for (const [type, message] of [
        ['helm.upgrade.succeeded', /^info: Helm upgrade Job \S+ succeeded/],
        [
          'updated',
          new RegExp(
            `^info: Update done: store is Ready on plan \\S+ \\(Helm revision \\d+, chart ${version}\\)`,
          ),
        ],
      ]) {
        // Each event's accessible name is "<level>: <message>"; its type shows beside it.
        const item = page.getByRole('listitem', { name: message }).first();
        await item.getByText(type, { exact: true }).waitFor();
        found.push(
          `${type}: "${(await item.getAttribute('aria-label')).slice(6)}"`,
        );
      }
      return found.join(', ');
    },
  );
}

module.exports = { runUpgradeSteps };
