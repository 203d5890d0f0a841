import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { StorePlan } from '@storeplane/plugin-stores-common';

/**
 * What an engine knows about the store it renders.
 *
 * @public
 */
export interface EngineStoreInput {
  id: string;
  name: string;
  description: string | null;
  namespace: string;
  plan: StorePlan;
  /** Host name of the storefront, e.g. store-shop-x1y2z.stores.example.com */
  host: string;
  /** Storefront URL (scheme + host, and the ingress port when it is not the default). */
  url: string;
  /**
   * A custom domain the storefront answers on too, besides `host`; null when none. With TLS,
   * its certificate is in the Secret `ingress.tls.customDomainSecretName`.
   */
  customDomain: string | null;
  /**
   * Value of the `backstage.io/kubernetes-id` label that every workload and pod of the store
   * must carry, so Backstage's Kubernetes tab on the store's entity finds them.
   */
  kubernetesId: string;
  /** Secret in the store namespace that holds the generated credentials. */
  secretName: string;
  ingress: {
    className: string;
    tls: {
      enabled: boolean;
      secretName?: string;
      /** Secret for the custom domain's certificate (cert-manager fills it when annotated). */
      customDomainSecretName?: string;
    };
    annotations: Record<string, string>;
  };
  storageClass: string;
}

/**
 * Totals of everything the engine's release runs, sizing the store namespace's ResourceQuota
 * and LimitRange. Storeplane adds room for its own Helm Job.
 *
 * @public
 */
export interface ResourceBudget {
  requestsCpu: number;
  requestsMemory: number;
  limitsCpu: number;
  limitsMemory: number;
  storage: number;
  persistentVolumeClaims: number;
  pods: number;
  /** The largest single container, for the LimitRange maximum. */
  maxContainerCpu: number;
  maxContainerMemory: number;
}

/**
 * Credentials an engine generates once per store; Storeplane keeps them in the store's Secret.
 *
 * @public
 */
export interface GeneratedCredentials {
  /** Secret data (string values). */
  data: Record<string, string>;
}

/**
 * A kind of store Storeplane can run. WooCommerce is built in; modules can add others.
 *
 * @public
 */
export interface StoreEngine {
  name: string;
  title: string;
  /** Helm release name inside the store namespace. */
  releaseName: string;
  /** Directory of the chart shipped with the engine (packaged into a ConfigMap for the Helm Job). */
  bundledChartPath: string;
  helmValues(store: EngineStoreInput): Record<string, unknown>;
  resourceBudget(plan: StorePlan): ResourceBudget;
  /**
   * Why a running store of this engine cannot move from one plan to another with a Helm
   * upgrade (its volumes cannot follow in place), in plain words; undefined when it can.
   */
  planChangeProblem?(from: StorePlan, to: StorePlan): string | undefined;
  generateCredentials(store: EngineStoreInput): GeneratedCredentials;
  /** Reads the admin login from the store Secret's data (base64-decoded). */
  adminCredentials(secretData: Record<string, string>): {
    username: string;
    password: string;
  };
  /** Label selector of the release's Deployments and StatefulSets. */
  workloadSelector: string;
  /**
   * Service and port the HTTP health check targets, and the path it asks for
   * (`storeplane.healthCheck.path` when unset).
   */
  healthCheck: { service: string; port: string; path?: string };
  /** Path of the admin UI under the storefront URL. */
  adminPath: string;
  /** Which pods serve the web and the database, for the store's NetworkPolicies. */
  network: {
    webPodLabels: Record<string, string>;
    webPort: number;
    databasePodLabels: Record<string, string>;
    databasePort: number;
  };
}

/**
 * Adds store engines to the stores backend plugin (see `storesEnginesExtensionPoint`).
 *
 * @public
 */
export interface StoresEnginesExtensionPoint {
  addEngine(engine: StoreEngine): void;
}

/**
 * Lets backend modules add store engines without touching the plugin.
 *
 * @public
 */
export const storesEnginesExtensionPoint =
  createExtensionPoint<StoresEnginesExtensionPoint>({
    id: 'stores.engines',
  });
