import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  ContentSuggestion,
  Store,
  storeContentSuggestPermission,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';

const SourceNote = ({ suggestion }: { suggestion: ContentSuggestion }) => (
  <Typography variant="caption" color="textSecondary" role="note">
    {suggestion.source === 'ai'
      ? `Suggested by ${suggestion.model ?? 'the configured model'}.`
      : `Built-in suggestion. ${suggestion.fallbackReason ?? ''}`}
  </Typography>
);

/**
 * Starter content for the store's owners: a title, a tagline and three products to copy into
 * wp-admin. Asked for on demand (it may spend the operator's model budget); nothing is saved.
 */
export const StoreContentSuggestionsCard = (props: {
  store: Store;
  entityRef: string;
}) => {
  const { store, entityRef } = props;
  const storesApi = useApi(storesApiRef);
  const permission = usePermission({
    permission: storeContentSuggestPermission,
    resourceRef: entityRef,
  });
  const [suggestion, setSuggestion] = useState<ContentSuggestion>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Error>();

  if (!permission.allowed) return null;

  const suggest = async () => {
    setLoading(true);
    setError(undefined);
    try {
      setSuggestion(await storesApi.suggestStoreContent(store.id));
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  };

  let buttonLabel = 'Suggest a title, tagline and products';
  if (loading) buttonLabel = 'Asking for suggestions…';
  else if (suggestion) buttonLabel = 'Suggest again';

  return (
    <InfoCard title="Content suggestions">
      <Box display="flex" flexDirection="column" gridGap={8}>
        {suggestion && (
          <Box role="region" aria-label="Suggested content">
            <Typography variant="h6">{suggestion.title}</Typography>
            <Typography variant="subtitle1">{suggestion.tagline}</Typography>
            <List dense>
              {suggestion.products.map(product => (
                <ListItem key={product.name} disableGutters>
                  <ListItemText
                    primary={`${product.name} — ${product.price}`}
                    secondary={product.description}
                  />
                </ListItem>
              ))}
            </List>
            <SourceNote suggestion={suggestion} />
          </Box>
        )}
        {error && <Alert severity="error">{error.message}</Alert>}
        <Box>
          <Button variant="outlined" onClick={suggest} disabled={loading}>
            {buttonLabel}
          </Button>
        </Box>
      </Box>
    </InfoCard>
  );
};
