export interface Config {
  storeplane?: {
    sandbox?: {
      /**
       * The cluster is Storeplane's local sandbox (a real API server whose pods are simulated;
       * no real WordPress runs; backup and restore Jobs run against a throwaway MariaDB). `./scripts/dev.sh` sets it in the config it generates; the
       * Store tab, the Stores page and the backend's startup log then say so.
       * @visibility frontend
       */
      enabled?: boolean;
    };
    polling?: {
      /**
       * The Store tab, overview card and Stores page update from Backstage signals; only when
       * the app has no signals do they poll. False turns that polling off (the browser e2e
       * does, to show updates come from signals alone). Default true.
       * @visibility frontend
       */
      enabled?: boolean;
    };
  };
}
