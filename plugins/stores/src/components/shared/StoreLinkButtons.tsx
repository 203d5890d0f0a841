import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import { Store } from '@storeplane/plugin-stores-common';

/** "Open storefront" / "Open wp-admin" for a store that has its URLs (Ready). */
export const StoreLinkButtons = (props: {
  store: Store;
  size?: 'small' | 'medium';
}) => {
  const { store, size = 'medium' } = props;
  return (
    <Box display="flex" gridGap={8} flexWrap="wrap">
      {store.storefrontUrl && (
        <Button
          size={size}
          variant="contained"
          color="primary"
          href={store.storefrontUrl}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open storefront
        </Button>
      )}
      {store.adminUrl && (
        <Button
          size={size}
          variant="outlined"
          color="primary"
          href={store.adminUrl}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open wp-admin
        </Button>
      )}
    </Box>
  );
};
