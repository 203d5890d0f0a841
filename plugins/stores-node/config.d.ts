import { HumanDuration } from '@backstage/types';

export interface Config {
  storeplane?: {
    /** Which cluster stores are created in. */
    kubernetes?: {
      /**
       * `kubeconfig` (a file and context; default ~/.kube/config or KUBECONFIG),
       * `inCluster` (the pod's ServiceAccount) or `url` (url + token + caData).
       */
      source?: 'kubeconfig' | 'inCluster' | 'url';
      kubeconfigPath?: string;
      context?: string;
      url?: string;
      /** @visibility secret */
      token?: string;
      caData?: string;
      skipTLSVerify?: boolean;
      /** How long an API call may take before it counts as timed out (transient). Default 10 seconds. */
      requestTimeout?: HumanDuration | string;
      rbac?: {
        /** ClusterRole the plugin binds to itself in each store namespace. */
        storeManagerClusterRole?: string;
        /** ClusterRole bound to the Helm Job's ServiceAccount in each store namespace. */
        storeInstallerClusterRole?: string;
        /**
         * The plugin's own ServiceAccount. When set, the plugin binds storeManagerClusterRole
         * to it in each store namespace (least privilege); when unset, it relies on its own
         * cluster-wide rights (development clusters).
         */
        serviceAccount?: { namespace: string; name: string };
      };
    };
  };
}
