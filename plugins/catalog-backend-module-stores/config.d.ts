import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** How Storeplane's stores appear in the software catalog. */
      storeplane?: {
        /**
         * How often every store is re-read into the catalog. Store changes arrive as events in
         * between, so this only repairs missed events: it is how long a missed change can stay
         * wrong in the catalog. Defaults to every 10 minutes.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        /** `spec.system` of store entities. Defaults to `storeplane`. */
        system?: string;
      };
    };
  };
}
