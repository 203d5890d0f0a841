import { ownerCosts } from './ownerCosts';

const planCosts = {
  currency: 'USD',
  items: [
    { engine: 'woocommerce', plan: 'small', monthly: 0.1 },
    { engine: 'woocommerce', plan: 'large', monthly: 12.35 },
  ],
};

describe('ownerCosts', () => {
  it('adds up whole cents per owner, largest first, and counts stores it cannot price', () => {
    expect(
      ownerCosts(planCosts, [
        {
          owner: 'group:default/a',
          engine: 'woocommerce',
          plan: 'small',
          count: 3,
        },
        {
          owner: 'group:default/b',
          engine: 'woocommerce',
          plan: 'large',
          count: 1,
        },
        { owner: 'group:default/b', engine: 'medusa', plan: 'small', count: 2 },
        {
          owner: 'group:default/c',
          engine: 'woocommerce',
          plan: 'gone',
          count: 1,
        },
      ]),
    ).toEqual({
      currency: 'USD',
      items: [
        {
          owner: 'group:default/b',
          stores: 3,
          monthly: 12.35,
          unpricedStores: 2,
        },
        // 3 × 0.1 in floating point would be 0.30000000000000004.
        {
          owner: 'group:default/a',
          stores: 3,
          monthly: 0.3,
          unpricedStores: 0,
        },
        { owner: 'group:default/c', stores: 1, monthly: 0, unpricedStores: 1 },
      ],
    });
  });

  it('prices nothing without a currency', () => {
    expect(
      ownerCosts({ currency: null, items: [] }, [
        {
          owner: 'group:default/a',
          engine: 'woocommerce',
          plan: 'small',
          count: 1,
        },
      ]),
    ).toEqual({ currency: null, items: [] });
  });
});
