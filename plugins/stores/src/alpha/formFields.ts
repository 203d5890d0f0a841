import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/**
 * The template field `ui:field: StoreOwnerPicker` (the store's owner: the signed-in user or
 * one of their groups) for the scaffolder of the new frontend system.
 */
export const storeOwnerPickerFormField = FormFieldBlueprint.make({
  name: 'store-owner-picker',
  params: {
    field: () =>
      import('./storeOwnerPickerField').then(m => m.storeOwnerPickerField),
  },
});

/**
 * The template field `ui:field: StoreEnginePicker` (the store's engine, from the backend's
 * `GET /engines`) for the scaffolder of the new frontend system.
 */
export const storeEnginePickerFormField = FormFieldBlueprint.make({
  name: 'store-engine-picker',
  params: {
    field: () =>
      import('./storeEnginePickerField').then(m => m.storeEnginePickerField),
  },
});

/**
 * The template field `ui:field: StoreDescriptionField` (the store's description, prefilled on
 * request from the store name) for the scaffolder of the new frontend system.
 */
export const storeDescriptionFormField = FormFieldBlueprint.make({
  name: 'store-description-field',
  params: {
    field: () =>
      import('./storeDescriptionField').then(m => m.storeDescriptionField),
  },
});
