import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { ExtensionDefinition } from '@backstage/frontend-plugin-api';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';

const hasStoreAnnotation = {
  [`metadata.annotations.${STORE_ID_ANNOTATION}`]: { $exists: true },
};

export const entityStoreContent: ExtensionDefinition =
  EntityContentBlueprint.make({
    name: 'store',
    params: {
      path: '/store',
      title: 'Store',
      group: 'deployment',
      filter: hasStoreAnnotation,
      loader: () =>
        import('../components/EntityStoreContent').then(m => (
          <m.EntityStoreContent />
        )),
    },
  });

export const entityStoreCard: ExtensionDefinition = EntityCardBlueprint.make({
  name: 'store',
  params: {
    filter: hasStoreAnnotation,
    loader: () =>
      import('../components/EntityStoreCard').then(m => <m.EntityStoreCard />),
  },
});
