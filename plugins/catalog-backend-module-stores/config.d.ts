import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** How Storeplane's stores appear in the software catalog. */
      storeplane?: {
        /**
         * How often every store is re-read into the catalog (the full sync). Store changes
         * arrive as events, and the incremental sync repairs a missed one, so this is only the
         * last resort. Defaults to every 6 hours.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        /**
         * How often the stores changed or removed since the last sync are applied (the
         * incremental sync): how long a change whose event was missed can stay wrong in the
         * catalog. Defaults to every minute.
         */
        incrementalSchedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        /** `spec.system` of store entities. Defaults to `storeplane`. */
        system?: string;
      };
    };
  };
}
