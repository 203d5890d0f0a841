/* eslint-disable no-console */
// Says whether a real cluster is configured for the app, so `./scripts/dev.sh` leaves the
// sandbox off. A real cluster is configured when
//   - KUBECONFIG is set in the environment, or
//   - one of the given app-config files sets storeplane.kubernetes.
// (~/.kube/config alone does not count: it often points at an unrelated cluster.)
//
//   ./scripts/node.sh node scripts/sandbox/configured-cluster.mjs <app-config file>...
//
// Prints the reason and exits 0 when one is configured; exits 1 when none is.
import fs from 'node:fs';
import { parse } from 'yaml';

if (process.env.KUBECONFIG) {
  console.log(`KUBECONFIG is set (${process.env.KUBECONFIG})`);
  process.exit(0);
}
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) continue;
  const config = parse(fs.readFileSync(file, 'utf8')) ?? {};
  if (config.storeplane?.kubernetes !== undefined) {
    console.log(`${file} sets storeplane.kubernetes`);
    process.exit(0);
  }
}
process.exit(1);
