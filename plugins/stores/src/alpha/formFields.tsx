import {
  createFormField,
  FormFieldBlueprint,
} from '@backstage/plugin-scaffolder-react/alpha';

/** The template's `ui:field: StoreOwnerPicker`, for the scaffolder of the new frontend system. */
export const storeOwnerPickerFormField = FormFieldBlueprint.make({
  name: 'store-owner-picker',
  params: {
    field: () =>
      import('../components/StoreOwnerPicker').then(m =>
        createFormField({
          name: 'StoreOwnerPicker',
          component: m.StoreOwnerPicker,
        }),
      ),
  },
});
