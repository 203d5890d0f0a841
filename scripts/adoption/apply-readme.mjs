#!/usr/bin/env node
/* eslint-disable no-console */
// Applies the install lines of the README's "Install into your Backstage app" section to an app,
// so scripts/adoption.sh installs exactly what the README tells adopters, nothing more.
//
//   node scripts/adoption/apply-readme.mjs <README.md> <app-dir>
//
// Each fenced block after an `<!-- adoption:<kind> ... -->` marker is applied:
//   run                               every line is a shell command, run in the app directory
//   insert <file> before <anchor>     the lines go into <file> before the line <anchor>
//   replace <file> <line>             the lines replace the line <line> of <file>, indented as it
//   catalog-location                  the YAML list items join catalog.locations of
//                                     app-config.yaml, unchanged
// Prints each applied block and the number of README lines applied.
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const [readmePath, appDir] = process.argv.slice(2);
if (!readmePath || !appDir) {
  console.error('usage: apply-readme.mjs <README.md> <app-dir>');
  process.exit(2);
}

const blockPattern =
  /<!-- adoption:(\S+)(.*?)-->\s*\n\s*```\w*\n([\s\S]*?)\n\s*```/g;
const blocks = [...readFileSync(readmePath, 'utf8').matchAll(blockPattern)].map(
  ([, kind, args, body]) => ({
    kind,
    args: args.trim(),
    // The README indents the blocks inside a numbered list.
    lines: body
      .split('\n')
      .map(line => line.replace(/^ {3}/, ''))
      .filter(line => line.trim() !== ''),
  }),
);
if (blocks.length === 0) {
  console.error(
    `apply-readme: no <!-- adoption:... --> blocks in ${readmePath}`,
  );
  process.exit(1);
}

function insertBefore(args, lines) {
  const match = /^(\S+) before (.+)$/.exec(args);
  if (!match)
    throw new Error(`insert: expected "<file> before <anchor>", got "${args}"`);
  const [, file, anchor] = match;
  const path = join(appDir, file);
  const source = readFileSync(path, 'utf8').split('\n');
  const at = source.findIndex(line => line.trim() === anchor.trim());
  if (at < 0) throw new Error(`insert: no line "${anchor}" in ${file}`);
  source.splice(at, 0, ...lines, '');
  writeFileSync(path, source.join('\n'));
}

function replaceLine(args, lines) {
  const match = /^(\S+) (.+)$/.exec(args);
  if (!match)
    throw new Error(`replace: expected "<file> <line>", got "${args}"`);
  const [, file, old] = match;
  const path = join(appDir, file);
  const source = readFileSync(path, 'utf8').split('\n');
  const at = source.findIndex(line => line.trim() === old.trim());
  if (at < 0) throw new Error(`replace: no line "${old}" in ${file}`);
  const indent = /^\s*/.exec(source[at])[0];
  source.splice(at, 1, ...lines.map(line => `${indent}${line}`));
  writeFileSync(path, source.join('\n'));
}

/** Adds the list items under `catalog.locations:` as one would by hand, leaving the rest as is. */
function addCatalogLocations(lines) {
  const locations = parse(lines.join('\n'));
  if (!Array.isArray(locations)) {
    throw new Error('catalog-location: expected a YAML list of locations');
  }
  const path = join(appDir, 'app-config.yaml');
  const config = readFileSync(path, 'utf8').split('\n');
  const catalogAt = config.findIndex(line => /^catalog:\s*$/.test(line));
  const locationsAt = config.findIndex(
    (line, i) => i > catalogAt && /^ {2}locations:\s*$/.test(line),
  );
  const nextTopLevel = config.findIndex(
    (line, i) => i > catalogAt && /^\S/.test(line),
  );
  if (
    catalogAt < 0 ||
    locationsAt < 0 ||
    (nextTopLevel >= 0 && locationsAt > nextTopLevel)
  ) {
    throw new Error(
      'catalog-location: app-config.yaml has no catalog.locations',
    );
  }
  config.splice(locationsAt + 1, 0, ...lines.map(line => `    ${line}`));
  writeFileSync(path, config.join('\n'));
}

let applied = 0;
for (const { kind, args, lines } of blocks) {
  console.log(`apply-readme: ${kind} ${args}`.trimEnd());
  for (const line of lines) console.log(`  | ${line}`);
  if (kind === 'run') {
    for (const command of lines) {
      execSync(command, { cwd: appDir, stdio: 'inherit', shell: '/bin/bash' });
    }
  } else if (kind === 'insert') {
    insertBefore(args, lines);
  } else if (kind === 'replace') {
    replaceLine(args, lines);
  } else if (kind === 'catalog-location') {
    addCatalogLocations(lines);
  } else {
    throw new Error(`unknown adoption block kind "${kind}"`);
  }
  applied += lines.length;
}
console.log(`apply-readme: ${applied} README lines applied`);
