import { useEffect } from 'react';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import { useApi } from '@backstage/core-plugin-api';
import { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { storesApiRef } from '../../api/StoresApi';

/**
 * Engine of a new store: the engines the stores backend runs (`GET /engines`: WooCommerce and
 * any a backend module added), the first one by default.
 */
export const StoreEnginePicker = (
  props: FieldExtensionComponentProps<string>,
) => {
  const {
    onChange,
    formData,
    required,
    rawErrors,
    schema: { title = 'Engine', description },
    idSchema,
  } = props;
  const storesApi = useApi(storesApiRef);
  const {
    value: engines,
    loading,
    error,
  } = useAsync(async () => (await storesApi.listEngines()).items, [storesApi]);
  const first = engines?.[0]?.name;

  useEffect(() => {
    if (!formData && first) onChange(first);
  }, [formData, first, onChange]);

  return (
    <TextField
      id={idSchema?.$id}
      select
      label={title}
      value={formData ?? ''}
      onChange={event => onChange(event.target.value)}
      helperText={
        error
          ? `Could not load the store engines: ${error.message}`
          : description
      }
      required={required}
      disabled={loading || Boolean(error)}
      error={Boolean(error) || (Boolean(rawErrors?.length) && !formData)}
      margin="normal"
      fullWidth
    >
      {(engines ?? []).map(engine => (
        <MenuItem key={engine.name} value={engine.name}>
          {engine.title}
        </MenuItem>
      ))}
    </TextField>
  );
};
