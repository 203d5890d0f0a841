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

export const entityStoreContent = EntityContentBlueprint.make({
  name: 'store',
  params: {
    path: '/store',
    title: 'Store',
    group: 'deployment',
    filter: storeEntityFilter,
    loader: () =>
      import('../components/EntityStoreContent').then(m => (
        <m.EntityStoreContent />
      )),
  },
});

export const entityStoreCard = EntityCardBlueprint.make({
  name: 'store',
  params: {
    type: 'info',
    filter: storeEntityFilter,
    loader: () =>
      import('../components/EntityStoreCard').then(m => <m.EntityStoreCard />),
  },
});
