import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { StoreEnginePicker } from '../components/StoreEnginePicker';

export const storeEnginePickerField = createFormField({
  name: 'StoreEnginePicker',
  component: StoreEnginePicker,
});
