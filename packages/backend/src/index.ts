import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

// auth: guest sign-in for local development (https://backstage.io/docs/auth/guest/provider)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

// catalog
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

// scaffolder
backend.add(import('@backstage/plugin-scaffolder-backend'));

// permissions: Storeplane's owner policy (storeplane.permissions.admins); every other
// plugin's permissions are allowed. To use your own policy, see docs/operations.md.
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@storeplane/plugin-permission-backend-module-stores-policy'),
);

// search (PostgreSQL engine when the database is PostgreSQL, in-memory otherwise)
backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-pg'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

// kubernetes: the Kubernetes tab on store entities; their cluster is storeplane.kubernetes
backend.add(import('@backstage/plugin-kubernetes-backend'));
backend.add(import('@storeplane/plugin-kubernetes-backend-module-stores'));

backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

// Storeplane
backend.add(import('@storeplane/plugin-stores-backend'));
backend.add(import('@storeplane/plugin-scaffolder-backend-module-stores'));
backend.add(import('@storeplane/plugin-catalog-backend-module-stores'));

backend.start();
