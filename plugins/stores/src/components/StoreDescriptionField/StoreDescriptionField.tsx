import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import TextField from '@material-ui/core/TextField';
import { useApi } from '@backstage/core-plugin-api';
import { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { ContentSuggestion } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api/StoresApi';

function sourceNote(suggestion: ContentSuggestion): string {
  return suggestion.source === 'ai'
    ? `Suggested by ${
        suggestion.model ?? 'the configured model'
      }; edit it as you like.`
    : `Built-in suggestion (${
        suggestion.fallbackReason ?? 'no model answered'
      }); edit it as you like.`;
}

/**
 * A store's description, with a button that prefills it from the store name typed above
 * (`POST /content-suggestions`: the tagline, from the configured model or the fallback).
 */
export const StoreDescriptionField = (
  props: FieldExtensionComponentProps<string>,
) => {
  const {
    onChange,
    formData,
    required,
    rawErrors,
    schema: { title = 'Description', description, maxLength },
    idSchema,
    formContext,
  } = props;
  const storesApi = useApi(storesApiRef);
  const name: string | undefined = formContext?.formData?.name;
  const [note, setNote] = useState<string>();
  const [loading, setLoading] = useState(false);

  const suggest = async () => {
    setLoading(true);
    try {
      const suggestion = await storesApi.suggestNewStoreContent({
        name: name!,
        ...(formData ? { description: formData } : {}),
      });
      onChange(suggestion.tagline);
      setNote(sourceNote(suggestion));
    } catch (e) {
      setNote(`Could not suggest a description: ${(e as Error).message}`);
    } finally {
      setLoading(false);
    }
  };

  return (
    <Box>
      <TextField
        id={idSchema?.$id}
        label={title}
        value={formData ?? ''}
        onChange={event => onChange(event.target.value)}
        helperText={note ?? description}
        required={required}
        error={Boolean(rawErrors?.length)}
        inputProps={{ maxLength }}
        multiline
        minRows={3}
        margin="normal"
        fullWidth
      />
      <Button
        variant="outlined"
        size="small"
        onClick={suggest}
        disabled={!name || loading}
      >
        {loading ? 'Suggesting…' : 'Suggest from the store name'}
      </Button>
    </Box>
  );
};
