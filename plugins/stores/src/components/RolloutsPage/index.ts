export { RolloutsPage } from './RolloutsPage';
