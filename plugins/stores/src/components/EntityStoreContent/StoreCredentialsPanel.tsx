import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import IconButton from '@material-ui/core/IconButton';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import CopyIcon from '@material-ui/icons/FileCopyOutlined';
import Alert from '@material-ui/lab/Alert';
import { useApi } from '@backstage/core-plugin-api';
import { StoreCredentials } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';

/**
 * wp-admin credentials, fetched only when asked for and dropped when hidden, so they do not
 * linger in memory or on screen.
 */
export const StoreCredentialsPanel = ({ storeId }: { storeId: string }) => {
  const storesApi = useApi(storesApiRef);
  const [credentials, setCredentials] = useState<StoreCredentials>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Error>();
  const [copied, setCopied] = useState(false);

  const show = async () => {
    setLoading(true);
    setError(undefined);
    try {
      setCredentials(await storesApi.getStoreCredentials(storeId));
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  };

  const hide = () => {
    setCredentials(undefined);
    setCopied(false);
  };

  const copyPassword = async () => {
    if (!credentials) return;
    try {
      await window.navigator.clipboard.writeText(credentials.adminPassword);
      setCopied(true);
    } catch (e) {
      setError(
        new Error(`Could not copy the password: ${(e as Error).message}`),
      );
    }
  };

  if (!credentials) {
    return (
      <Box display="flex" flexDirection="column" gridGap={8}>
        <Button variant="outlined" onClick={show} disabled={loading}>
          {loading ? 'Loading credentials…' : 'Show credentials'}
        </Button>
        {error && <Alert severity="error">{error.message}</Alert>}
      </Box>
    );
  }

  return (
    <Box
      display="flex"
      flexDirection="column"
      gridGap={8}
      role="region"
      aria-label="Store credentials"
    >
      <Typography variant="body2">
        Username: <code>{credentials.adminUsername}</code>
      </Typography>
      <Box display="flex" alignItems="center">
        <Typography variant="body2">
          Password: <code>{credentials.adminPassword}</code>
        </Typography>
        <Tooltip title={copied ? 'Copied' : 'Copy password'}>
          <IconButton
            size="small"
            aria-label="Copy password"
            onClick={copyPassword}
          >
            <CopyIcon fontSize="small" />
          </IconButton>
        </Tooltip>
      </Box>
      {copied && (
        <Typography variant="caption" role="status">
          Password copied to the clipboard
        </Typography>
      )}
      {error && <Alert severity="error">{error.message}</Alert>}
      <Button variant="outlined" onClick={hide}>
        Hide credentials
      </Button>
    </Box>
  );
};
