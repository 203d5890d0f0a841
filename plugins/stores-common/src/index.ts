/**
 * Shared types, REST client, permissions and name rules of Storeplane.
 *
 * @packageDocumentation
 */
export * from './types';
export * from './naming';
export * from './textRules';
export * from './schemas';
export * from './permissions';
export * from './client';
export * from './events';
export * from './signals';
