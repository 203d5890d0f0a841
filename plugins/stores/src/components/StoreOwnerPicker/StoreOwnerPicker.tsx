import { useEffect, useMemo } from 'react';
import TextField from '@material-ui/core/TextField';
import Autocomplete from '@material-ui/lab/Autocomplete';
import { parseEntityRef } from '@backstage/catalog-model';
import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';

/** `group:default/shop-team` → `shop-team (group)`; the user themselves → `guest (you)`. */
export function ownerLabel(ref: string, userEntityRef?: string): string {
  const { kind, name } = parseEntityRef(ref);
  if (ref === userEntityRef) return `${name} (you)`;
  return `${name} (${kind.toLowerCase()})`;
}

/**
 * Owner of a new store: the signed-in user (the default) or one of their groups — their
 * ownership entity refs, which is exactly what the stores backend accepts without an
 * administrator's decision.
 */
export const StoreOwnerPicker = (
  props: FieldExtensionComponentProps<string>,
) => {
  const {
    onChange,
    formData,
    required,
    rawErrors,
    schema: { title = 'Owner', description },
    idSchema,
  } = props;
  const identityApi = useApi(identityApiRef);
  const { value: identity, loading } = useAsync(
    () => identityApi.getBackstageIdentity(),
    [identityApi],
  );
  const options = useMemo(
    () =>
      identity
        ? [
            ...new Set(
              [identity.userEntityRef, ...identity.ownershipEntityRefs].map(
                ref => ref.toLowerCase(),
              ),
            ),
          ]
        : [],
    [identity],
  );
  const userRef = identity?.userEntityRef.toLowerCase();

  useEffect(() => {
    if (!formData && userRef) onChange(userRef);
  }, [formData, userRef, onChange]);

  return (
    <Autocomplete
      id={idSchema?.$id}
      options={options}
      loading={loading}
      value={formData || null}
      getOptionLabel={ref => ownerLabel(ref, userRef)}
      onChange={(_, value) => onChange(value ?? '')}
      renderInput={params => (
        <TextField
          {...params}
          label={title}
          helperText={description}
          required={required}
          margin="normal"
          error={Boolean(rawErrors?.length) && !formData}
        />
      )}
    />
  );
};
