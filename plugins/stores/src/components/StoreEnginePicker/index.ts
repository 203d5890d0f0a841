export { StoreEnginePicker } from './StoreEnginePicker';
