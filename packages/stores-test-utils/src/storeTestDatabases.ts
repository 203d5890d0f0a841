import { TestDatabases } from '@backstage/backend-test-utils';

/**
 * SQLite always; PostgreSQL 15 when BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING is
 * set (scripts/with-postgres.sh does that for the README test command).
 */
export function storeTestDatabases() {
  const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
  if (
    process.env.STOREPLANE_REQUIRE_POSTGRES &&
    !databases.supports('POSTGRES_15')
  ) {
    throw new Error(
      'STOREPLANE_REQUIRE_POSTGRES is set but no PostgreSQL is configured: run the tests through scripts/with-postgres.sh',
    );
  }
  return databases;
}
