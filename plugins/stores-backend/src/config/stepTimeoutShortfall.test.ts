import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import { readStoresConfig } from './readStoresConfig';
import { stepTimeoutShortfall } from './stepTimeoutShortfall';

const configWith = (storeplane: JsonObject) =>
  readStoresConfig(new ConfigReader({ storeplane }));

describe('stepTimeoutShortfall', () => {
  it('finds nothing wrong with the defaults', () => {
    expect(stepTimeoutShortfall(configWith({}))).toBeUndefined();
  });

  it('accepts a step of exactly two Helm timeouts', () => {
    expect(
      stepTimeoutShortfall(
        configWith({
          helm: { timeout: '10m' },
          reconciler: { stepTimeout: '20m' },
        }),
      ),
    ).toBeUndefined();
  });

  it('names both keys and their values when the step cannot span a Helm rerun', () => {
    expect(
      stepTimeoutShortfall(
        configWith({
          helm: { timeout: '20m' },
          reconciler: { stepTimeout: '30m' },
        }),
      ),
    ).toMatch(
      /^storeplane\.reconciler\.stepTimeout \(30 minutes\) is shorter than twice storeplane\.helm\.timeout \(20 minutes\)/,
    );
  });
});
