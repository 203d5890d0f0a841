export { StoreOwnerPicker } from './StoreOwnerPicker';
