import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { StoreOwnerPicker } from '../components/StoreOwnerPicker';

export const storeOwnerPickerField = createFormField({
  name: 'StoreOwnerPicker',
  component: StoreOwnerPicker,
});
