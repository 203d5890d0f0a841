import { StoresConfig } from '../config/readStoresConfig';
import { ClaimedStoreUpdate, StoreRecord } from '../database/StoreRepository';
import { DomainResolver } from './DomainResolver';

/** What a Ready store's pass writes about its custom domain, and whether it just went Active. */
export interface DomainCheckOutcome {
  update: Pick<
    ClaimedStoreUpdate,
    'domainStatus' | 'markDomainChecked' | 'domainMessage'
  >;
  becameActive: boolean;
}

/** A store whose Ingress serves its custom domain and whose DNS does not point at it yet. */
export function awaitsDns(store: StoreRecord): boolean {
  return (
    store.domain !== null &&
    store.domain === store.appliedDomain &&
    store.domainStatus === 'AwaitingDns'
  );
}

/**
 * How soon a Ready store is looked at again: its monitor interval, or sooner while its
 * domain awaits DNS (`storeplane.domains.checkInterval`).
 */
export function nextLookMs(store: StoreRecord, config: StoresConfig): number {
  return awaitsDns(store)
    ? Math.min(config.monitor.intervalMs, config.domains.checkIntervalMs)
    : config.monitor.intervalMs;
}

/**
 * Checks the DNS of a store's applied custom domain while it awaits DNS; undefined when there
 * is nothing to check. A failing lookup (no answer from the resolver) is reported, not
 * thrown: the domain stays AwaitingDns and the next pass checks again.
 */
export async function checkStoreDomain(
  store: StoreRecord,
  config: StoresConfig,
  resolver: DomainResolver,
): Promise<DomainCheckOutcome | undefined> {
  const target = config.domains.ingressAddress;
  if (!awaitsDns(store)) return undefined;
  if (!target) {
    return {
      update: {
        markDomainChecked: true,
        domainMessage:
          'The DNS check cannot run: storeplane.domains.ingressAddress is not set any more',
      },
      becameActive: false,
    };
  }
  try {
    const result = await resolver.check(store.domain!, target);
    return {
      update: {
        domainStatus: result.pointsAtIngress ? 'Active' : 'AwaitingDns',
        markDomainChecked: true,
        domainMessage: result.message,
      },
      becameActive: result.pointsAtIngress,
    };
  } catch (error) {
    return {
      update: {
        markDomainChecked: true,
        domainMessage: `The DNS check of ${store.domain} failed: ${
          (error as Error).message
        }; it runs again in ${Math.round(nextLookMs(store, config) / 1000)} s`,
      },
      becameActive: false,
    };
  }
}

/**
 * What Ready writes about the domain once an update passed its gates (the release serves
 * `domain`) or was rolled back (it serves `appliedDomain` again). Nothing when the update did
 * not change the domain: its status stays.
 */
export function domainAfterUpdate(
  store: StoreRecord,
  rolledBack: boolean,
  config: StoresConfig,
): ClaimedStoreUpdate {
  const served = rolledBack ? store.appliedDomain : store.domain;
  if (!rolledBack && store.domain === store.appliedDomain) {
    return store.domain !== null && store.domainStatus === null
      ? awaiting(store.domain, config)
      : {};
  }
  if (rolledBack && store.domain === store.appliedDomain) return {};
  return {
    domain: served,
    appliedDomain: served,
    ...(served === null
      ? { domainStatus: null, markDomainChecked: false, domainMessage: null }
      : awaiting(served, config)),
  };
}

function awaiting(domain: string, config: StoresConfig): ClaimedStoreUpdate {
  return {
    domainStatus: 'AwaitingDns',
    markDomainChecked: false,
    domainMessage: `The store's Ingress serves ${domain}; waiting until its DNS points at ${
      config.domains.ingressAddress ?? 'the ingress address'
    }`,
  };
}
