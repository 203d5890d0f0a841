import { createDevApp } from '@backstage/dev-utils';
import { storesPlugin, StoresPage } from '../src/plugin';

createDevApp()
  .registerPlugin(storesPlugin)
  .addPage({
    element: <StoresPage />,
    title: 'Root Page',
    path: '/stores',
  })
  .render();
