import {
  StoreEventLevelEnum,
  StoreStatus,
  StoreStepEnum,
} from './schema/openapi/generated/models';

// The API's shapes are generated from the backend's OpenAPI document
// (plugins/stores-backend/src/schema/openapi.yaml; `yarn openapi:generate`). This file adds
// what a type cannot carry: the statuses and steps as values, in lifecycle order, and their
// titles.
export type {
  ContentSuggestion,
  ContentSuggestionRequest,
  ContentSuggestionSourceEnum,
  CreateRolloutRequest,
  CreateStoreRequest,
  DeletedStore,
  DeletedStoreList,
  ErrorError,
  ErrorRequest,
  ErrorResponse,
  ModelError,
  Rollout,
  RolloutDetails,
  RolloutEvent,
  RolloutEventLevelEnum,
  RolloutList,
  RolloutStatus,
  RolloutStore,
  RolloutStoreResultEnum,
  SetStoreDomainRequest,
  Store,
  StoreBackup,
  StoreBackupList,
  StoreBackupStatusEnum,
  StoreCredentials,
  StoreDomain,
  StoreDomainStatusEnum,
  StoreEngineInfo,
  StoreEngineList,
  StoreEvent,
  StoreEventLevelEnum,
  StoreEventList,
  StoreLinks,
  StoreList,
  StorePlan,
  StorePlanList,
  StorePod,
  StorePodLastTermination,
  StoreStatus,
  StoreStepEnum,
  StoreVolumeClaim,
  StoreWorkload,
  StoreWorkloadKindEnum,
  StoreWorkloads,
  StoreUsage,
  StoreUsageCost,
  PlanCost,
  PlanCostList,
  OwnerCost,
  OwnerCostList,
  StoreResourceUsage,
  StoreResourceUsageResourceEnum,
  StoreResourceUsageUnitEnum,
  SuggestedProduct,
  UpdateStoreRequest,
} from './schema/openapi/generated/models';

/**
 * Every status, in lifecycle order (the key order below). A status the spec adds and this
 * object lacks fails the type check.
 */
const everyStoreStatus: Record<StoreStatus, true> = {
  Provisioning: true,
  Ready: true,
  Degraded: true,
  Updating: true,
  Restoring: true,
  Failed: true,
  Deleting: true,
};

/**
 * Every status a store can have, in the order the lifecycle reaches them.
 *
 * @public
 */
export const STORE_STATUSES: readonly StoreStatus[] = Object.keys(
  everyStoreStatus,
) as StoreStatus[];

/**
 * The store passed every gate and still exists: its links lead to its shop (which may be failing
 * when Degraded, keeps serving while Updating, and serves while a backup is loaded when
 * Restoring).
 *
 * @public
 */
export function isStoreProvisioned(status: StoreStatus): boolean {
  return (
    status === 'Ready' ||
    status === 'Degraded' ||
    status === 'Updating' ||
    status === 'Restoring'
  );
}

/**
 * The steps of a restore, in order: the restore Job, then the gates an install passes.
 *
 * @public
 */
export const RESTORE_STEPS: readonly StoreStep[] = [
  'restore',
  'workloads',
  'health',
];

// openapi.yaml lists null among the step's values (a nullable enum needs it, or a null step
// fails validation); the generator writes that member as '', which no step is.
/**
 * The gates a store passes, in order, before it is Ready (the lifecycle contract),
 * followed by the steps of deletion.
 *
 * @public
 */
export type StoreStep = Exclude<StoreStepEnum, ''>;

/**
 * The gates of provisioning, in order.
 *
 * @public
 */
export const PROVISIONING_STEPS: readonly StoreStep[] = [
  'guardrails',
  'secret',
  'helmInstall',
  'workloads',
  'health',
];

/**
 * The steps of deletion, in order.
 *
 * @public
 */
export const DELETION_STEPS: readonly StoreStep[] = [
  'helmUninstall',
  'namespaceDeletion',
];

/**
 * What each step is called on the page and in events.
 *
 * @public
 */
export const STORE_STEP_TITLES: Record<StoreStep, string> = {
  guardrails: 'Namespace and guardrails',
  secret: 'Credentials secret',
  helmInstall: 'Helm install job',
  workloads: 'Workloads available',
  health: 'HTTP health check',
  helmRollback: 'Helm rollback job',
  restore: 'Restore job',
  helmUninstall: 'Helm uninstall job',
  namespaceDeletion: 'Namespace deleted',
};

/**
 * How serious a store event is.
 *
 * @public
 */
export type StoreEventLevel = StoreEventLevelEnum;
