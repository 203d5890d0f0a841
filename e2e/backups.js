// Browser e2e steps for backups (issue 14), run by app.e2e.js on the sandbox once its store is
// Ready. The sandbox's kubelet stand-in really runs a store's backup and restore Jobs against a
// throwaway MariaDB (test/cluster/README.md, "Database Job pods"), which seeds each namespace's
// database with the row ('marker', '<namespace>') in table storeplane_sim, and its busybox httpd
// pods serve the backups volume, so the Download reads the real dump through the API server's
// pod proxy.
//
// 1. "Back up now" on the Store tab's Backups card; the backup's row turns Succeeded with a size.
// 2. Its Download: the browser saves `<store>-<time>.sql.gz`, which gunzips to a dump holding the
//    marker row.
// 3. The marker is changed in the database (the MariaDB client on the sandbox's socket), then
//    Restore after confirming: Restoring, then Ready, restore.succeeded in the activity, and the
//    marker is the namespace again.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');

const BACKUP_TIMEOUT_MS = 120_000;
const RESTORE_TIMEOUT_MS = 180_000;
const CHANGED_MARKER = 'changed by the e2e after its backup';

/** The sandbox's MariaDB socket, from the state.env scripts/sandbox/cluster.mjs writes. */
function sandboxMariadbSocket() {
  const cacheDir =
    process.env.STOREPLANE_CACHE ||
    path.join(os.homedir(), '.cache', 'storeplane');
  const state = fs.readFileSync(
    path.join(cacheDir, 'sandbox', 'state.env'),
    'utf8',
  );
  const socket = /^SANDBOX_MARIADB_SOCKET='([^']*)'$/m.exec(state);
  if (!socket || !socket[1]) {
    throw new Error(
      "the sandbox runs no MariaDB (install Debian's mariadb-server)",
    );
  }
  return socket[1];
}

function mariadb(socket, sql) {
  return execFileSync(
    'mariadb',
    [
      '--no-defaults',
      `--socket=${socket}`,
      '--user=root',
      '--batch',
      '--skip-column-names',
      '-e',
      sql,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  ).trim();
}

/** `<schema>.storeplane_sim` of the namespace's database (the sim names it `<namespace>__<db>`). */
function markerTable(socket, namespace) {
  const prefix = `${namespace.replace(/[^A-Za-z0-9_]/g, '_')}\\_\\_`;
  const schemas = mariadb(
    socket,
    `SELECT table_schema FROM information_schema.tables WHERE table_name = 'storeplane_sim' AND table_schema LIKE '${prefix}%'`,
  )
    .split('\n')
    .filter(Boolean);
  if (schemas.length !== 1) {
    throw new Error(
      `expected one database of ${namespace} with storeplane_sim, found [${schemas.join(
        ', ',
      )}]`,
    );
  }
  return `\`${schemas[0]}\`.storeplane_sim`;
}

async function runBackupSteps({
  page,
  lifecycleStep,
  assert,
  token,
  storeUrl,
  BACKEND_URL,
}) {
  let store;
  let row; // the new backup's row on the Backups card
  let socket;
  let table;

  await lifecycleStep(
    'store tab: Back up now, the backup Succeeded with a size',
    async () => {
      const id = new URL(storeUrl).pathname
        .split('/')
        .pop()
        .replace(/^store-/, '');
      const res = await fetch(`${BACKEND_URL}/api/stores/stores/${id}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert(res.ok, `GET /stores/${id}: HTTP ${res.status}`);
      store = await res.json();
      await page.goto(`${storeUrl}/store`);
      const backUp = page.getByRole('button', { name: /^back up now$/i });
      await backUp.waitFor();
      const started = Date.now();
      await backUp.click();
      // The newest backup is the first row.
      row = page
        .getByRole('table', { name: 'Backups' })
        .locator('tbody tr')
        .first();
      await row.waitFor();
      await row
        .getByText('Succeeded', { exact: true })
        .waitFor({ timeout: BACKUP_TIMEOUT_MS });
      const size = (await row.locator('td').nth(1).innerText()).trim();
      assert(/^\d+(\.\d+)? (bytes|KiB|MiB|GiB)$/.test(size), `size "${size}"`);
      return `Succeeded after ${((Date.now() - started) / 1000).toFixed(
        1,
      )} s, ${size}`;
    },
  );

  await lifecycleStep(
    "store tab: Download saves a .sql.gz that gunzips to a dump with the sim's marker row",
    async () => {
      const started = Date.now();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('button', { name: /^Download backup of / }).click(),
      ]);
      const failure = await download.failure();
      assert(!failure, `the browser's download failed: ${failure}`);
      const fileName = download.suggestedFilename();
      // The backend's name (Content-Disposition), not the client's fallback `<store>-<backup id>`.
      assert(
        new RegExp(`^${store.id}-\\d{8}T\\d{6}Z\\.sql\\.gz$`).test(fileName),
        `suggested file name "${fileName}", not <store id>-<UTC time>.sql.gz`,
      );
      const gzipped = fs.readFileSync(await download.path());
      const dump = zlib.gunzipSync(gzipped).toString('utf8');
      assert(
        /CREATE TABLE `storeplane_sim`/.test(dump),
        'the dump has no CREATE TABLE `storeplane_sim`',
      );
      assert(
        dump.includes(`('marker','${store.namespace}')`),
        `the dump has no marker row ('marker','${store.namespace}')`,
      );
      await download.delete();
      return `${fileName}: ${gzipped.length} bytes gzipped, ${
        dump.length
      } bytes of dump, in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    },
  );

  await lifecycleStep(
    "sandbox: change the store's marker row after the backup",
    async () => {
      socket = sandboxMariadbSocket();
      table = markerTable(socket, store.namespace);
      mariadb(
        socket,
        `UPDATE ${table} SET v = '${CHANGED_MARKER}' WHERE k = 'marker'`,
      );
      const now = mariadb(socket, `SELECT v FROM ${table} WHERE k = 'marker'`);
      assert(now === CHANGED_MARKER, `marker reads "${now}"`);
      return `${table} marker: "${now}"`;
    },
  );

  await lifecycleStep(
    'store tab: Restore after confirming: Restoring, Ready again, restore.succeeded, the marker restored',
    async () => {
      await row.getByRole('button', { name: /^Restore backup of / }).click();
      const dialog = page.getByRole('dialog');
      const text = (await dialog.innerText()).replace(/\s+/g, ' ');
      assert(/are lost/.test(text), `dialog reads "${text}"`);
      const started = Date.now();
      await dialog.getByRole('button', { name: /^restore backup$/i }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('Restoring', { exact: true }).first().waitFor();
      const restoringAfter = (Date.now() - started) / 1000;
      const item = page
        .getByRole('listitem', { name: /^info: Restore of backup \S+ done/ })
        .first();
      await item
        .getByText('restore.succeeded', { exact: true })
        .waitFor({ timeout: RESTORE_TIMEOUT_MS });
      await page.getByText('Ready', { exact: true }).first().waitFor();
      assert(
        !(await page
          .getByText('Restoring', { exact: true })
          .first()
          .isVisible()),
        'still shown as Restoring',
      );
      const readyAfter = (Date.now() - started) / 1000;
      const marker = mariadb(
        socket,
        `SELECT v FROM ${table} WHERE k = 'marker'`,
      );
      assert(
        marker === store.namespace,
        `after the restore the marker reads "${marker}", not "${store.namespace}"`,
      );
      return `Restoring after ${restoringAfter.toFixed(
        1,
      )} s, Ready after ${readyAfter.toFixed(1)} s, marker "${marker}"`;
    },
  );
}

module.exports = { runBackupSteps };
