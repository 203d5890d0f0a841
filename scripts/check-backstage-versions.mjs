#!/usr/bin/env node
// Fails when an @backstage/* package resolves to more than one version in this repository.
// Two copies of a Backstage package split its React contexts, API refs and extension data
// (and the app loads two Backstage UI stylesheets), so every range in every package.json has
// to come from one Backstage release.
//
//   ./scripts/node.sh node scripts/check-backstage-versions.mjs
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const output = execFileSync(
  join(root, 'scripts/yarn.sh'),
  ['info', '--all', '--recursive', '--dependents', '--json', '@backstage/*'],
  { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);

// `@backstage/x@virtual:<hash>#npm:1.2.3` (a peer-dependency instance) -> `@backstage/x@1.2.3`
const shortLocator = locator =>
  locator.replace(/@(?:virtual:[^#]+#)?npm:/, '@');

const versionsByName = new Map();
for (const line of output.split('\n')) {
  if (!line.trim()) continue;
  const { value, children } = JSON.parse(line);
  const at = value.lastIndexOf('@npm:');
  if (at < 0) continue; // workspaces and patches are not registry copies
  const name = value.slice(0, at);
  const entries = versionsByName.get(name) ?? [];
  entries.push({
    version: children.Version,
    dependents: [...new Set((children.Dependents ?? []).map(shortLocator))],
  });
  versionsByName.set(name, entries);
}

const duplicated = [...versionsByName].filter(
  ([, entries]) => entries.length > 1,
);
if (duplicated.length === 0) {
  console.log(
    `check-backstage-versions: ${versionsByName.size} @backstage packages, one version each`,
  );
  process.exit(0);
}

console.error(
  `check-backstage-versions: ${duplicated.length} @backstage package(s) resolve to more than one version:`,
);
for (const [name, entries] of duplicated) {
  console.error(`  ${name}`);
  for (const { version, dependents } of entries) {
    const by = dependents.length
      ? dependents.join(', ')
      : `? (yarn why ${name})`;
    console.error(`    ${version}  needed by ${by}`);
  }
}
console.error(
  'Align the @backstage ranges of every package.json with one Backstage release, then run `yarn dedupe`. ' +
    'A Backstage package whose newest published version still asks for an older release needs a ' +
    '`resolutions` entry in the root package.json (see README "Backstage versions").',
);
process.exit(1);
