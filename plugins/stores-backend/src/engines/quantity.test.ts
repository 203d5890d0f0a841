import { parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['350m', 0.35],
    ['1', 1],
    ['1.5', 1.5],
    ['2500u', 0.0025],
    ['384Mi', 384 * 1024 ** 2],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['4Gi', 4 * 1024 ** 3],
    ['1500M', 1.5e9],
    ['1e3', 1000],
    ['12E-1', 1.2],
    ['.5', 0.5],
  ])('reads %s as the API server means it', (quantity, value) => {
    expect(parseQuantity(quantity)).toBe(value);
  });

  it.each(['', 'lots', '1 Gi', '-1', '2GB', '1e'])('refuses %j', quantity => {
    expect(() => parseQuantity(quantity)).toThrow(/not a Kubernetes quantity/);
  });
});
