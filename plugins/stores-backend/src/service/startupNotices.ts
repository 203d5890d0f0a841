import { LoggerService } from '@backstage/backend-plugin-api';
import { StoresConfig } from '../config/readStoresConfig';
import {
  CONFIGURE_CLUSTER_ADVICE,
  describeKubeConfig,
  loadKubeConfig,
} from '@storeplane/plugin-stores-node';

/** Tells the operator at startup where stores go, and what is not real or not wired yet. */
export function logStartupNotices(config: StoresConfig, logger: LoggerService) {
  let server: string | undefined;
  try {
    server = describeKubeConfig(loadKubeConfig(config.kubernetes));
    logger.info(
      `Storeplane creates stores in the Kubernetes cluster ${server}`,
    );
  } catch (error) {
    logger.warn(
      `No Kubernetes cluster is configured: ${
        (error as Error).message
      }. Stores wait in Provisioning until there is one. ${CONFIGURE_CLUSTER_ADVICE}.`,
    );
  }
  if (config.sandbox) {
    logger.warn(
      'SANDBOX (storeplane.sandbox.enabled): the cluster is the local sandbox control plane. Its pods are simulated: no real WordPress or WooCommerce runs, and store links open a page that says so. Backup and restore Jobs do run, against a stand-in database per store in a throwaway MariaDB beside the sandbox, where MariaDB is installed.',
    );
  } else if (
    server &&
    config.healthCheck.mode === 'serviceProxy' &&
    config.network.healthCheckSourceCidrs.length === 0
  ) {
    logger.warn(
      "The health check goes through the API server's service proxy, but storeplane.network.healthCheckSourceCidrs is empty: on a cluster that enforces NetworkPolicies, the stores' policies drop the API server's connections. List the addresses the API server reaches pods from (see docs/operations.md).",
    );
  }
}
