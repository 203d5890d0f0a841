import { ConfigReader } from '@backstage/config';
import { readStoreAdmins } from './readStoreAdmins';

const read = (admins: unknown) =>
  readStoreAdmins(
    new ConfigReader({ storeplane: { permissions: { admins } } } as any),
  );

describe('readStoreAdmins', () => {
  it('is empty when not configured', () => {
    expect(readStoreAdmins(new ConfigReader({}))).toEqual([]);
  });

  it('normalises refs to lowercase with their namespace', () => {
    expect(read(['Group:default/Platform-Admins', 'user:ops/bob'])).toEqual([
      'group:default/platform-admins',
      'user:ops/bob',
    ]);
  });

  it.each([
    ['platform-admins', /'platform-admins' is not an entity ref/],
    ['component:default/x', /must be a user or group entity ref/],
  ])('refuses %j naming the key', (ref, message) => {
    expect(() => read([ref])).toThrow(
      /Invalid config at 'storeplane\.permissions\.admins'/,
    );
    expect(() => read([ref])).toThrow(message);
  });
});
