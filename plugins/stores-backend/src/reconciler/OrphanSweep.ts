import { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject } from '@kubernetes/client-node';
import {
  StoreNamespaceRecord,
  StoreRepository,
} from '../database/StoreRepository';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { StoreChangeListener } from './StoreReconciler';

/** Every namespace Storeplane creates carries this label (see storeResources.ts). */
const STORE_NAMESPACE_SELECTOR = 'app.kubernetes.io/managed-by=storeplane';

export interface OrphanSweepOptions {
  repository: StoreRepository;
  /** Returns the cluster client, or throws when no cluster is configured. */
  kubernetes: () => KubernetesClient;
  logger: LoggerService;
  gracePeriodMs: number;
  onChange: StoreChangeListener;
}

export interface SweepResult {
  /** Namespaces without a store that were deleted. */
  deleted: string[];
  /** Namespaces without a store that are younger than the grace period. */
  young: string[];
  /** Stores whose namespace vanished, with what became of them. */
  repaired: Array<{ id: string; status: 'Provisioning' | 'Failed' }>;
}

/**
 * The invariant's other half: every namespace Storeplane made belongs to a store, and every
 * store that should have a namespace has one. Runs as one global scheduled task.
 *
 * - A namespace labelled as Storeplane's whose store is not in the database (a row deleted by
 *   hand, a database restored from an older backup) is deleted once it is older than the grace
 *   period, with a log line and an event under the store id it carries.
 * - A store whose namespace vanished (deleted outside Storeplane): a Ready or Failed store is
 *   marked Failed, since its data went with the namespace and only a person should decide to
 *   provision an empty store at the same address (Retry) or to delete it; a store still
 *   provisioning lost nothing and starts over from the namespace step.
 */
export class OrphanSweep {
  constructor(private readonly options: OrphanSweepOptions) {}

  async run(): Promise<SweepResult> {
    const { repository, logger } = this.options;
    let kube: KubernetesClient;
    try {
      kube = this.options.kubernetes();
    } catch (error) {
      logger.debug(
        `Orphan sweep skipped: no Kubernetes cluster (${
          (error as Error).message
        })`,
      );
      return { deleted: [], young: [], repaired: [] };
    }
    // Stores first: a store read now that is past its first step had its namespace created
    // before this read, so a namespace missing from the list read after it really vanished.
    const stores = await repository.listStoreNamespaces();
    const namespaces = await kube.list<KubernetesObject>(
      'v1',
      'Namespace',
      undefined,
      STORE_NAMESPACE_SELECTOR,
    );
    const now = await repository.databaseNow();
    const result: SweepResult = { deleted: [], young: [], repaired: [] };

    const storeNamespaces = new Set(stores.map(s => s.namespace));
    for (const namespace of namespaces) {
      const name = namespace.metadata!.name!;
      if (storeNamespaces.has(name) || namespace.metadata?.deletionTimestamp)
        continue;
      const storeId =
        namespace.metadata?.labels?.['storeplane.io/store-id'] ??
        name.replace(/^store-/, '');
      const createdAt = Date.parse(
        String(namespace.metadata?.creationTimestamp ?? ''),
      );
      if (!(now - createdAt >= this.options.gracePeriodMs)) {
        result.young.push(name);
        continue;
      }
      // A last look, in case the store appeared after the first read.
      if (await repository.getStore(storeId)) continue;
      await kube.delete('v1', 'Namespace', undefined, name);
      const message = `Deleted namespace ${name}: it carries Storeplane's labels but no store ${storeId} exists in Storeplane's database (created ${new Date(
        createdAt,
      ).toISOString()}, older than the orphan grace period)`;
      logger.warn(message);
      await repository.addEvent(storeId, {
        type: 'orphan.deleted',
        level: 'warning',
        message,
      });
      result.deleted.push(name);
    }

    const present = new Set(namespaces.map(n => n.metadata!.name!));
    for (const store of stores) {
      if (present.has(store.namespace) || !shouldHaveNamespace(store)) continue;
      const repaired = await this.repairVanished(store);
      if (repaired) result.repaired.push({ id: store.id, status: repaired });
    }
    return result;
  }

  private async repairVanished(
    store: StoreNamespaceRecord,
  ): Promise<'Provisioning' | 'Failed' | undefined> {
    const { repository, logger, onChange } = this.options;
    const provisioning = store.status === 'Provisioning';
    const message = provisioning
      ? `Namespace ${store.namespace} vanished while the store was being provisioned (deleted outside Storeplane); provisioning starts over from the namespace`
      : vanishedNamespaceMessage(store.namespace);
    const status = provisioning ? 'Provisioning' : 'Failed';
    const moved = await repository.resetVanishedStore(store, {
      status,
      lastError: provisioning ? null : message,
    });
    // Someone holds or just changed the store; the next sweep looks again.
    if (!moved) return undefined;
    await repository.addEvent(store.id, {
      type: 'namespace.vanished',
      level: provisioning ? 'warning' : 'error',
      message,
    });
    logger.warn(`Store ${store.id}: ${message}`);
    onChange(store.id, status);
    return status;
  }
}

/** Stores at the first step may not have created their namespace yet; deletion handles its own. */
function shouldHaveNamespace(store: StoreNamespaceRecord): boolean {
  return store.status !== 'Deleting' && store.step !== 'guardrails';
}

/** Why a store that had been provisioned is Failed once its namespace is gone. */
export function vanishedNamespaceMessage(namespace: string): string {
  return `Namespace ${namespace} no longer exists: it was deleted outside Storeplane, and the store's data went with it. Retry provisions the store again from scratch (new credentials, an empty shop); Delete removes it.`;
}
