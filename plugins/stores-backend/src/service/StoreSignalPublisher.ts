import { LoggerService } from '@backstage/backend-plugin-api';
import { SignalsService } from '@backstage/plugin-signals-node';
import {
  StoreSignal,
  storeSignalChannel,
  STORES_SIGNAL_CHANNEL,
} from '@storeplane/plugin-stores-common';

/**
 * Tells open pages that a store changed, through Backstage signals. A signal carries no store
 * data (see stores-common/src/signals.ts): pages re-read through the permission-checked API.
 */
export class StoreSignalPublisher {
  constructor(
    private readonly signals: SignalsService,
    private readonly logger: LoggerService,
  ) {}

  /** Its status or step changed, or it appeared or went: the store's page and every list. */
  storeChanged(storeId: string): void {
    this.publish(storeSignalChannel(storeId));
    this.publish(STORES_SIGNAL_CHANNEL);
  }

  /** It got a new event: the store's page. */
  storeActivity(storeId: string): void {
    this.publish(storeSignalChannel(storeId));
  }

  private publish(channel: string) {
    this.signals
      .publish<StoreSignal>({
        recipients: { type: 'broadcast' },
        channel,
        message: { at: Date.now() },
      })
      .catch(error =>
        this.logger.warn(`Could not publish signal on ${channel}: ${error}`),
      );
  }
}
