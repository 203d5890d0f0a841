import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Storeplane: self-service WooCommerce stores on Kubernetes. */
  storeplane?: {
    // storeplane.kubernetes: its schema is in @storeplane/plugin-stores-node, which reads it.
    ingress?: {
      className?: string;
      /** Stores get `<namespace>.<baseDomain>`. */
      baseDomain?: string;
      /**
       * Port of the ingress controller's entry point when it is not 80 (443 with TLS), e.g. a
       * local cluster's NodePort; store URLs then end in `:<port>`. Default: none.
       */
      port?: number;
      tls?: {
        enabled?: boolean;
        secretName?: string;
        annotations?: { [key: string]: string };
      };
      annotations?: { [key: string]: string };
    };
    /** StorageClass of store volumes; empty uses the cluster default. */
    storageClass?: string;
    helm?: {
      /** Image of the Helm install/uninstall Jobs. */
      image?: string;
      /** Where the Job gets the chart: `bundled` (ConfigMap made from the chart shipped with the plugin), or a chart reference (oci://… or https://…). */
      chart?: {
        source?: 'bundled' | 'reference';
        path?: string;
        reference?: string;
        version?: string;
      };
      /**
       * helm --timeout for install (hooks wait for WooCommerce setup). Default 20 minutes.
       * Each Helm Job runs helm once; the reconciler retries transient failures.
       */
      timeout?: HumanDuration | string;
    };
    healthCheck?: {
      /** `serviceProxy` (through the API server) or `url` (in-cluster URL template). */
      mode?: 'serviceProxy' | 'url';
      /** For mode url: `{namespace}` and `{service}` are replaced. */
      urlTemplate?: string;
      path?: string;
      /**
       * Deadline of the whole check (connect, status line, first 4 KiB of the page); a slower
       * answer counts as a transient failure. Default 10 seconds.
       */
      timeout?: HumanDuration | string;
    };
    network?: {
      /** Labels selecting the ingress controller's namespace. */
      ingressControllerNamespaceLabels?: { [key: string]: string };
      /** Address ranges a store may not reach over HTTPS egress (the cluster's own networks). */
      clusterCidrs?: string[];
      /** Where the Helm Job reaches the API server. */
      apiServerCidrs?: string[];
      apiServerPorts?: number[];
      /** Extra ingress sources allowed to reach WordPress (e.g. the health checker). */
      healthCheckSourceCidrs?: string[];
    };
    reconciler?: {
      /**
       * How often each replica looks for due stores as a safety net (the loop also wakes itself
       * when a store falls due, and on every create, delete and retry), and how long a store
       * whose reconcile failed unexpectedly is put off. Default 5 seconds.
       */
      frequency?: HumanDuration | string;
      /** Stores worked on at once per replica (mostly waiting on the Kubernetes API). Default 16. */
      concurrency?: number;
      /** How long a claim on a store lasts before another replica may take it. Default 2 minutes. */
      lease?: HumanDuration | string;
      /** Attempts of a provisioning step before the store is Failed. Default 8. */
      maxAttempts?: number;
      /** First retry delay (doubles per attempt, with jitter). Default 5 seconds. */
      initialBackoff?: HumanDuration | string;
      /** Longest retry delay. Default 5 minutes. */
      maxBackoff?: HumanDuration | string;
      /**
       * How long a provisioning step (Helm Job, workloads) may take before the store is Failed;
       * the timer restarts on a user retry. Deletion is not failed by it: after this long Helm
       * uninstall is skipped (the namespace is deleted anyway) and a namespace still
       * Terminating is reported in an event. Default 45 minutes. Keep it above twice
       * `helm.timeout`: a Helm Job that waits out its timeout after a transient fault (an API
       * server restart) runs again within the same step; the backend warns at start otherwise.
       */
      stepTimeout?: HumanDuration | string;
      watch?: {
        /**
         * Watch (cluster-wide, by Storeplane's store-id label) the Helm Jobs, Deployments,
         * StatefulSets and namespaces stores wait for, and look at a store as soon as one of them
         * changes. Without a watch (disabled, or refused by RBAC) waiting stores are polled every
         * few seconds. Default true.
         */
        enabled?: boolean;
        /**
         * While the watches are held, how soon a waiting store is looked at again anyway (a
         * safety net for a missed event). Default 30 seconds.
         */
        resync?: HumanDuration | string;
      };
      notify?: {
        /**
         * On PostgreSQL, when a replica makes a store due (a create, delete, retry, change
         * request or watch event) it sends `NOTIFY storeplane_store_due`, and every replica
         * listens on one connection of its own and looks for due stores at once, instead of at
         * its next tick (`frequency`). Nothing on SQLite (one process). Default true.
         */
        enabled?: boolean;
      };
    };
    monitor?: {
      /**
       * How often a Ready or Degraded store is checked again (workloads available, health
       * check, guardrails re-applied). Default 5 minutes.
       */
      interval?: HumanDuration | string;
    };
    backups?: {
      /**
       * How many Succeeded backups of a store are kept on its backups volume; each new backup
       * removes older ones beyond this count (files and rows). Default 7, at least 1.
       */
      retention?: number;
      /**
       * Image of the short-lived pod (`backup-reader`) that serves a store's backup files to
       * downloads through the API server's pod proxy: it runs `httpd -f -p 8080 -h /backups`
       * as the engine's backup user, so it needs busybox's httpd. Default `busybox:1.37`.
       */
      readerImage?: string;
    };
    /** Fleet rollouts: upgrades of every store to the shipped chart, in waves. */
    rollouts?: {
      /** Stores in each wave after the canary wave of one. Default 5. */
      waveSize?: number;
      /** The pause between two waves. Default 1 minute. */
      pause?: HumanDuration | string;
      /** A rollout halts once this many stores failed their upgrade. Default 1. */
      maxFailures?: number;
      /** How often running rollouts are advanced. Default 5 seconds. */
      frequency?: HumanDuration | string;
    };
    /**
     * A global task that deletes namespaces labelled as Storeplane's that have no store in the
     * database (after the grace period), and marks stores whose namespace vanished. Disable it
     * only when several Storeplane installations share one cluster.
     */
    orphanSweep?: {
      /** Default true. */
      enabled?: boolean;
      /** Default 10 minutes. */
      frequency?: HumanDuration | string;
      /** How old an orphaned namespace must be before it is deleted. Default 1 hour. */
      gracePeriod?: HumanDuration | string;
    };
    limits?: {
      maxActiveStoresPerUser?: number;
      maxActiveStoresPerOwner?: number;
      /** Accepted creates per user within a sliding window. Default 10 per hour. */
      createRate?: { count: number; window: HumanDuration | string };
    };
    events?: {
      /** How long events of deleted stores stay readable. Default 30 days. */
      retention?: HumanDuration | string;
    };
    permissions?: {
      /**
       * Service principals that may create, retry and delete stores and read their
       * credentials, by subject as Backstage reports it: a static external access token's
       * `subject` exactly as configured in `backend.auth.externalAccess`, `external:<sub>`
       * for a JWKS token, `plugin:<id>` for another backend plugin.
       * Every other service principal may only list and read stores. Default: none.
       */
      allowedServices?: string[];
      /**
       * How long the stores plugin reuses a user's permission decision (the same user, the
       * same permission, the same store) instead of asking the permission backend again.
       * A user's ownership claims are fixed for the token's lifetime and the policy's other
       * input is config, so a policy change shows after at most this long. 0 asks on every
       * request. Default 5 seconds.
       */
      decisionCacheTtl?: HumanDuration | string;
    };
    /**
     * An OpenAI-compatible chat-completions endpoint (`<baseUrl>/chat/completions`) for a
     * store's content suggestions. Without it, or when it fails, times out or answers
     * something that is not the expected JSON, suggestions come from a built-in fallback.
     */
    ai?: {
      /** E.g. https://api.openai.com/v1 or a local server's /v1. */
      baseUrl?: string;
      /** Required with baseUrl. */
      model?: string;
      /**
       * Sent as `Authorization: Bearer`; e.g. `apiKey: ${OPENAI_API_KEY}`.
       * @visibility secret
       */
      apiKey?: string;
      /** How long one suggestion may take before the fallback answers. Default 15 seconds. */
      timeout?: HumanDuration | string;
    };
    /**
     * Per-unit monthly prices for the cost estimates of the Store tab and the Stores page: a
     * plan's estimate prices the requests of its namespace's ResourceQuota, the actual estimate
     * the requests the quota reports in use. Without this block no costs are shown.
     */
    cost?: {
      /** ISO 4217 code, e.g. EUR. Required with the prices. */
      currency: string;
      /** Price of one CPU core requested for a month. */
      cpuCoreMonth: number;
      /** Price of one GiB of memory requested for a month. */
      memoryGiBMonth: number;
      /** Price of one GiB of volume storage requested for a month. */
      storageGiBMonth: number;
    };
    /** Custom domains that owners give their stores, beside the platform host. */
    domains?: {
      /**
       * Where owners point their domains: the ingress controller's public host name (a
       * CNAME target) or IP address (an A/AAAA record). Unset: custom domains are off
       * (POST /stores/:id/domain answers 409).
       */
      ingressAddress?: string;
      /**
       * How often a domain whose DNS does not point at ingressAddress yet is checked again
       * (at most storeplane.monitor.interval). Default 1 minute.
       */
      checkInterval?: HumanDuration | string;
    };
    defaultPlan?: string;
    plans?: {
      [name: string]: {
        title?: string;
        description?: string;
        /** CPU request of one WordPress replica, e.g. 250m. */
        cpu: string;
        /** Memory request of one WordPress replica, e.g. 256Mi. */
        memory: string;
        /** Size of each store volume (WordPress files, database). */
        storage: string;
        replicas?: number;
      };
    };
  };
}
