import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { StoreDescriptionField } from '../components/StoreDescriptionField';

export const storeDescriptionField = createFormField({
  name: 'StoreDescriptionField',
  component: StoreDescriptionField,
});
