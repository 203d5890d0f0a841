import {
  ApiBlueprint,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { StoresClient } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../api';

export const storesApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: storesApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new StoresClient({ discoveryApi, fetchApi }),
    }),
});
