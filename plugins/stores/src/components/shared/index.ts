export { isStoreAvailable, getStoreId } from './isStoreAvailable';
export { StoreStatusChip } from './StoreStatusChip';
export { relativeTime } from './relativeTime';
export { StoreErrorView, isStoreGone } from './StoreErrorView';
export { StoreLinkButtons } from './StoreLinkButtons';
export { SandboxNotice, useIsSandbox } from './SandboxNotice';
