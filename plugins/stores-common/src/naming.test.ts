import {
  normalizeStoreName,
  storeIdFromRef,
  storeNameProblem,
  storeNamespace,
  storeEntityRef,
} from './naming';
import {
  createStoreRequestSchema,
  describeIssues,
  listStoresQuerySchema,
} from './schemas';

describe('store names', () => {
  it.each([
    ['  My Shop ', 'my-shop'],
    ['Summer_Sale', 'summer-sale'],
    ['abc', 'abc'],
  ])('normalises %j to %j', (raw, expected) => {
    expect(normalizeStoreName(raw)).toBe(expected);
    expect(storeNameProblem(expected)).toBeUndefined();
  });

  it.each([
    ['ab', /3 to 30/],
    ['a'.repeat(31), /3 to 30/],
    ['1shop', /start with a letter/],
    ['shop-', /end with a dash/],
    ['shop!', /lowercase letters/],
    ['sh--op', /two dashes/],
  ])('rejects %j', (name, message) => {
    expect(storeNameProblem(name)).toMatch(message);
  });

  it('reads a store id from an id or an entity ref', () => {
    expect(storeIdFromRef('shop-x1y2z')).toBe('shop-x1y2z');
    expect(storeIdFromRef('resource:default/store-shop-x1y2z')).toBe(
      'shop-x1y2z',
    );
    expect(storeIdFromRef('Resource:default/Store-Shop-X1Y2Z')).toBe(
      'shop-x1y2z',
    );
    // A bare id that starts with `store-` stays an id.
    expect(storeIdFromRef('store-front-x1y2z')).toBe('store-front-x1y2z');
  });

  it('derives namespace and entity ref from the id', () => {
    expect(storeNamespace('shop-x1y2z')).toBe('store-shop-x1y2z');
    expect(storeEntityRef('shop-x1y2z')).toBe(
      'resource:default/store-shop-x1y2z',
    );
  });
});

describe('createStoreRequestSchema', () => {
  it('accepts a valid request and normalises it', () => {
    const parsed = createStoreRequestSchema.parse({
      name: ' Summer Sale ',
      owner: 'Group:default/Team-A',
      plan: 'small',
    });
    expect(parsed).toEqual({
      name: 'summer-sale',
      owner: 'group:default/team-a',
      plan: 'small',
    });
  });

  it('rejects unknown fields and bad owners with readable messages', () => {
    const result = createStoreRequestSchema.safeParse({
      name: 'shop',
      owner: 'team-a',
      color: 'red',
    });
    expect(result.success).toBe(false);
    const message = describeIssues(result.error!);
    expect(message).toMatch(
      /owner: owner must be a full user or group entity ref/,
    );
    expect(message).toMatch(/color/);
  });

  it('rejects a missing name', () => {
    const result = createStoreRequestSchema.safeParse({
      owner: 'user:default/ann',
    });
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toMatch(/name: name is required/);
  });
});

describe('listStoresQuerySchema', () => {
  it('normalises the owner ref and refuses control characters', () => {
    expect(
      listStoresQuerySchema.parse({ owner: ' Group:default/Team-A ' }),
    ).toEqual({ owner: 'group:default/team-a' });
    expect(
      describeIssues(
        listStoresQuerySchema.safeParse({
          entityRef: 'resource:default/a\u0000',
        }).error!,
      ),
    ).toMatch(/entityRef: entityRef must not contain control characters/);
  });
});
