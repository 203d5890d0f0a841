import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { STORE_STATUSES } from '@storeplane/plugin-stores-common';

describe('openapi.yaml', () => {
  it('documents exactly the routes the router serves', () => {
    const spec = parse(
      readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
    );
    const documented = Object.entries(
      spec.paths as Record<string, Record<string, unknown>>,
    )
      .flatMap(([route, item]) =>
        Object.keys(item)
          .filter(key =>
            ['get', 'post', 'delete', 'put', 'patch'].includes(key),
          )
          .map(
            method =>
              `${method.toUpperCase()} ${route.replace(/\{(\w+)\}/g, ':$1')}`,
          ),
      )
      .sort();
    const source = readFileSync(
      path.join(__dirname, '../service/router.ts'),
      'utf8',
    );
    const served = [
      ...source.matchAll(/router\.(get|post|delete|put|patch)\('([^']+)'/g),
    ]
      .map(([, method, route]) => `${method.toUpperCase()} ${route}`)
      .sort();
    expect(documented).toEqual(served);
  });

  it('lists every store status there is', () => {
    const spec = parse(
      readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
    );
    expect(spec.components.schemas.Store.properties.status.enum).toEqual(
      STORE_STATUSES,
    );
  });
});
