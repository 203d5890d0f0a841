import { ConflictError, InputError } from '@backstage/errors';
import { StoreDomain } from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import {
  NewStoreEvent,
  StoreRecord,
  StoreRepository,
} from '../database/StoreRepository';
import { StoreChangeListener } from '../reconciler/StoreReconciler';
import { domainProblem } from './domainName';

export interface StoreDomainsOptions {
  repository: StoreRepository;
  config: StoresConfig;
  onChange: StoreChangeListener;
  /** Asks the reconciler to look at due stores now. */
  wakeReconciler: () => void;
}

/** Message of a domain whose Helm upgrade has not passed its gates yet. */
export const DOMAIN_APPLYING_MESSAGE =
  "A Helm upgrade is adding the domain to the store's Ingress; the DNS check starts once the store passes its gates";

/**
 * A store's custom domain as the REST API shows it and changes it. A change is desired
 * state: it makes the store Updating, and the reconciler runs the Helm upgrade that puts the
 * domain on (or takes it off) the store's Ingress, with the usual gates and rollback.
 */
export class StoreDomains {
  constructor(private readonly options: StoreDomainsOptions) {}

  describe(store: StoreRecord): StoreDomain {
    return {
      domain: store.domain,
      status: store.domain === null ? null : store.domainStatus,
      expectedTarget: this.options.config.domains.ingressAddress ?? null,
      checkedAt:
        store.domainCheckedAt === null
          ? null
          : new Date(store.domainCheckedAt).toISOString(),
      message: store.domainMessage,
    };
  }

  async setDomain(
    store: StoreRecord,
    body: { domain: string },
    actor: string,
  ): Promise<StoreRecord> {
    const { config } = this.options;
    const domain = body.domain.trim();
    const problem = domainProblem(domain, config.ingress.baseDomain);
    if (problem) {
      throw new InputError(`Invalid domain '${domain}': ${problem}`);
    }
    if (!config.domains.ingressAddress) {
      throw new ConflictError(
        'Custom domains are off on this Storeplane: an administrator sets storeplane.domains.ingressAddress (the address owners point their domains at) to turn them on',
      );
    }
    if (store.domain === domain) {
      throw new ConflictError(
        `Store '${store.id}' already has the domain ${domain}`,
      );
    }
    await this.request(store, domain, {
      type: 'domain.set',
      level: 'info',
      message: `Custom domain ${domain} requested${
        store.domain ? ` (replacing ${store.domain})` : ''
      }; a Helm upgrade adds it to the store's Ingress, then it waits until its DNS points at ${
        config.domains.ingressAddress
      }`,
      actor,
    });
    return this.reload(store);
  }

  async removeDomain(store: StoreRecord, actor: string): Promise<StoreRecord> {
    if (store.domain === null) {
      throw new ConflictError(
        `Store '${store.id}' has no custom domain; there is nothing to remove`,
      );
    }
    await this.request(store, null, {
      type: 'domain.removed',
      level: 'info',
      message: `Custom domain ${store.domain} removed; a Helm upgrade takes it off the store's Ingress, which keeps serving the platform host`,
      actor,
    });
    return this.reload(store);
  }

  private async request(
    store: StoreRecord,
    domain: string | null,
    event: NewStoreEvent,
  ) {
    if (store.status !== 'Ready' && store.status !== 'Degraded') {
      throw new ConflictError(
        `Store '${store.id}' is ${store.status}; its domain can change only while it is Ready or Degraded (wait until it is Ready, or retry it if it failed)`,
      );
    }
    const result = await this.options.repository.requestDomainChange(
      store,
      domain,
      domain === null ? null : DOMAIN_APPLYING_MESSAGE,
      event,
    );
    if (result === 'taken') {
      throw new ConflictError(
        `The domain ${domain} belongs to another store; a domain serves one store only`,
      );
    }
    if (result === 'changed') {
      throw new ConflictError(
        `Store '${store.id}' changed meanwhile; reload and try again`,
      );
    }
    this.options.onChange(store.id, 'Updating');
    this.options.wakeReconciler();
  }

  private async reload(store: StoreRecord): Promise<StoreRecord> {
    return (await this.options.repository.getStore(store.id)) ?? store;
  }
}
