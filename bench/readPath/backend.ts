/**
 * The backend of the read-path bench: Backstage's backend with the stores plugin, the
 * permission backend with Storeplane's owner policy (as the shipped app has them), and guest
 * sign-in so the bench reads as a signed-in user, whose reads the policy decides. No catalog
 * runs here: an in-memory one answers the stores plugin's owner lookups.
 */
import { createBackend } from '@backstage/backend-defaults';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';

const backend = createBackend();
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@storeplane/plugin-permission-backend-module-stores-policy'),
);
backend.add(import('@storeplane/plugin-stores-backend'));
backend.add(catalogServiceMock.factory({ entities: [] }));
backend.start();
