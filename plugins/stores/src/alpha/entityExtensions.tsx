import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';

/**
 * Store entities: the catalog Resources that name their store in an annotation (what the
 * catalog module emits). The same test as `isStoreAvailable` for the legacy entity page.
 */
const storeEntityFilter = {
  kind: 'resource',
  [`metadata.annotations.${STORE_ID_ANNOTATION}`]: { $exists: true },
};

// A tab of its own rather than one in the "Deployment" group: it is the store's main page.
export const entityStoreContent = EntityContentBlueprint.make({
  name: 'store',
  params: {
    path: '/store',
    title: 'Store',
    filter: storeEntityFilter,
    loader: () =>
      import('../components/EntityStoreContent').then(m => (
        <m.EntityStoreContent />
      )),
  },
});

// In the overview's main column, beside About, as in the legacy entity page.
export const entityStoreCard = EntityCardBlueprint.make({
  name: 'store',
  params: {
    filter: storeEntityFilter,
    loader: () =>
      import('../components/EntityStoreCard').then(m => <m.EntityStoreCard />),
  },
});
