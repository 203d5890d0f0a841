import { simDatabaseName } from './index';

// The same cases as TestNamespaceIdentifier in test/cluster/mariadb_test.go: the sim names the
// databases, tests find them with this.
describe('simDatabaseName', () => {
  it.each([
    ['store-abc', 'wordpress', 'store_abc__wordpress'],
    ['a.b', "x-y z`';", 'a_b__x_y_z___'],
    ['n'.repeat(63), 'wordpress', `${'n'.repeat(47)}_68d3df7c882763f7`],
  ])('%s / %s → %s', (namespace, name, expected) => {
    expect(simDatabaseName(namespace, name)).toBe(expected);
  });
});
