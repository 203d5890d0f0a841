#!/usr/bin/env node
// A read-only npm registry for one scope, serving the package tarballs in a directory, so a
// fresh Backstage app can install the Storeplane packages with plain `yarn add` lines, exactly
// as from npmjs.com. Used by scripts/adoption.sh.
//
//   node scripts/adoption/registry.mjs <tarball-dir> <port-file>
//
// Listens on a free loopback port, writes it to <port-file> and serves
//   GET /<name>                         the packument (every version found in the directory)
//   GET /-/<file>.tgz                   a tarball
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const [tarballDir, portFile] = process.argv.slice(2);
if (!tarballDir || !portFile) {
  console.error('usage: registry.mjs <tarball-dir> <port-file>');
  process.exit(2);
}

const packuments = new Map();
const tarballs = new Map();
for (const file of readdirSync(tarballDir).filter(f => f.endsWith('.tgz'))) {
  const path = join(tarballDir, file);
  const data = readFileSync(path);
  const manifest = JSON.parse(
    execFileSync('tar', ['-xzOf', path, 'package/package.json'], {
      encoding: 'utf8',
    }),
  );
  tarballs.set(file, data);
  const packument = packuments.get(manifest.name) ?? {
    name: manifest.name,
    'dist-tags': {},
    versions: {},
    time: {},
  };
  packument.versions[manifest.version] = {
    ...manifest,
    _id: `${manifest.name}@${manifest.version}`,
    dist: {
      tarball: `/-/${file}`, // made absolute per request below
      shasum: createHash('sha1').update(data).digest('hex'),
      integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
    },
  };
  packument['dist-tags'].latest = manifest.version;
  packument.time[manifest.version] = new Date().toISOString();
  packuments.set(manifest.name, packument);
}

const server = http.createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const base = `http://${req.headers.host}`;
  if (url.startsWith('/-/') && tarballs.has(url.slice(3))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(tarballs.get(url.slice(3)));
    return;
  }
  const packument = packuments.get(url.slice(1));
  if (!packument) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'Not found' }));
    return;
  }
  const versions = Object.fromEntries(
    Object.entries(packument.versions).map(([version, manifest]) => [
      version,
      {
        ...manifest,
        dist: { ...manifest.dist, tarball: `${base}${manifest.dist.tarball}` },
      },
    ]),
  );
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ...packument, versions }));
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  writeFileSync(portFile, String(port));
  console.log(
    `registry.mjs: ${[...packuments.keys()].join(
      ', ',
    )} on http://127.0.0.1:${port}`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
