/**
 * Backstage signals of the stores backend. They say only that something changed, never what:
 * the page re-reads through the permission-checked REST API, so a signal shows nobody a store
 * they may not read. Signals are broadcast; a store's channel is named by its id, which a
 * subscriber must already know.
 */

/**
 * Channel of one store: its status, step or events changed.
 *
 * @public
 */
export function storeSignalChannel(storeId: string): string {
  return `storeplane:store:${storeId}`;
}

/**
 * Channel of the store list: some store was created, changed or removed.
 *
 * @public
 */
export const STORES_SIGNAL_CHANNEL = 'storeplane:stores';

/**
 * Message on either channel; `at` (epoch ms) makes every signal a new value.
 *
 * @public
 */
export interface StoreSignal {
  at: number;
  [key: string]: number;
}
