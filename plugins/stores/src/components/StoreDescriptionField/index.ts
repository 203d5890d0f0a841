export { StoreDescriptionField } from './StoreDescriptionField';
