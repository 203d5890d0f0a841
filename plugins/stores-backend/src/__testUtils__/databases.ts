export { storeTestDatabases } from '@internal/stores-test-utils';
