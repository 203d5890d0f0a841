import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  STORE_NAME_MAX_LENGTH,
  STORE_NAME_MIN_LENGTH,
  STORE_NAME_PATTERN,
} from '@storeplane/plugin-stores-common';

const packageDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(packageDir, '../..');
// The copy the package ships (templates/ at the repository root links to it).
const template = parse(
  readFileSync(
    path.join(packageDir, 'templates/woocommerce-store/template.yaml'),
    'utf8',
  ),
);
const appConfig = parse(
  readFileSync(path.join(repoRoot, 'app-config.yaml'), 'utf8'),
);
const properties = template.spec.parameters[0].properties;

describe('templates/woocommerce-store', () => {
  it('applies the backend store name rules in the form', () => {
    expect(properties.name.pattern).toBe(STORE_NAME_PATTERN);
    expect(properties.name.minLength).toBe(STORE_NAME_MIN_LENGTH);
    expect(properties.name.maxLength).toBe(STORE_NAME_MAX_LENGTH);
  });

  it('offers exactly the plans configured in app-config.yaml, described by their sizes', () => {
    const plans = appConfig.storeplane.plans;
    expect(properties.plan.enum).toEqual(Object.keys(plans));
    expect(properties.plan.default).toBe(appConfig.storeplane.defaultPlan);
    properties.plan.enum.forEach((name: string, i: number) => {
      expect(properties.plan.enumNames[i]).toBe(
        `${plans[name].title}: ${plans[name].description}`,
      );
    });
  });

  it("offers the backend's engines (GET /engines), not a list of its own, and passes the choice on", () => {
    expect(properties.engine['ui:field']).toBe('StoreEnginePicker');
    expect(properties.engine.enum).toBeUndefined();
    expect(template.spec.steps[0].input.engine).toBe(
      '${{ parameters.engine }}',
    );
  });

  it('prefills the description on request from content suggestions (StoreDescriptionField)', () => {
    expect(properties.description['ui:field']).toBe('StoreDescriptionField');
    expect(properties.description.maxLength).toBe(500);
    expect(template.spec.steps[0].input.description).toBe(
      '${{ parameters.description }}',
    );
  });

  it('runs storeplane:store:create and links to the store and its entity', () => {
    expect(template.spec.steps.map((s: any) => s.action)).toEqual([
      'storeplane:store:create',
    ]);
    expect(
      template.spec.output.links.map((l: any) => l.url ?? l.entityRef),
    ).toEqual([
      '${{ steps.create.output.storefrontUrl }}',
      '${{ steps.create.output.adminUrl }}',
      '${{ steps.create.output.entityRef }}',
    ]);
  });
});
