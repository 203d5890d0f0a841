//

export * from '../models/CreateStoreRequest.model';
export * from '../models/ErrorError.model';
export * from '../models/ErrorRequest.model';
export * from '../models/ErrorResponse.model';
export * from '../models/ModelError.model';
export * from '../models/Store.model';
export * from '../models/StoreCredentials.model';
export * from '../models/StoreEngineInfo.model';
export * from '../models/StoreEngineList.model';
export * from '../models/StoreEvent.model';
export * from '../models/StoreEventList.model';
export * from '../models/StoreLinks.model';
export * from '../models/StoreList.model';
export * from '../models/StorePlan.model';
export * from '../models/StorePlanList.model';
export * from '../models/StorePod.model';
export * from '../models/StorePodLastTermination.model';
export * from '../models/StoreStatus.model';
export * from '../models/StoreVolumeClaim.model';
export * from '../models/StoreWorkload.model';
export * from '../models/StoreWorkloads.model';
export * from '../models/UpdateStoreRequest.model';
