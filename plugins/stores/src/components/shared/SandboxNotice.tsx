import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import { configApiRef, useApi } from '@backstage/core-plugin-api';

/** Whether the app runs on Storeplane's local sandbox cluster (`storeplane.sandbox.enabled`). */
export function useIsSandbox(): boolean {
  return (
    useApi(configApiRef).getOptionalBoolean('storeplane.sandbox.enabled') ??
    false
  );
}

/** Says plainly, on the sandbox only, that stores there are simulated. */
export const SandboxNotice = () => {
  if (!useIsSandbox()) return null;
  return (
    <Alert severity="info" role="note" aria-label="Sandbox">
      <AlertTitle>Sandbox: simulated pods, no real WordPress</AlertTitle>
      Stores here run on Storeplane&apos;s local sandbox cluster: a real
      Kubernetes API server whose pods are simulated. Every lifecycle gate runs
      for real, but no WordPress or WooCommerce runs, and the storefront and
      admin links open a page served by the simulated pod. Backups and restores
      do run where MariaDB is installed on this machine: their Jobs dump and
      load a small stand-in database for each store, kept in one throwaway
      MariaDB beside the sandbox.
    </Alert>
  );
};
