import { KubernetesObject } from '@kubernetes/client-node';
import { statusCode } from '../kubernetes/KubernetesClient';
import {
  managerRoleBindingManifest,
  namespaceManifest,
} from '../kubernetes/storeResources';
import {
  ensureNamespaceRights,
  namespaceGuardrailManifests,
  probeStoreHealth,
  StepContext,
  workloadAvailability,
} from './steps';

/** What one check of a Ready or Degraded store found. */
export type MonitorResult =
  | {
      type: 'namespaceVanished';
    }
  | {
      type: 'checked';
      /** What failed, in plain words; empty when every check passed. */
      problems: string[];
      /** Guardrails that had been deleted or changed outside Storeplane and were applied again. */
      restored: string[];
    };

type NamespaceObject = KubernetesObject & { status?: { phase?: string } };

/**
 * Checks a Ready or Degraded store, level-triggered (it looks at the cluster as it is now,
 * not at what happened): the guardrails are present and unchanged (server-side applied again;
 * an apply that finds nothing drifted changes nothing, resourceVersions included), every
 * workload has its replicas available, and WordPress passes the health check.
 */
export async function monitorStore(ctx: StepContext): Promise<MonitorResult> {
  const { kube, store } = ctx;
  const namespace = await kube.read<NamespaceObject>(
    'v1',
    'Namespace',
    undefined,
    store.namespace,
  );
  // Applying guardrails now would hand out an empty namespace at the store's address.
  if (!namespace) return { type: 'namespaceVanished' };
  if (namespace.status?.phase === 'Terminating') {
    return {
      type: 'checked',
      problems: [
        `Namespace ${store.namespace} is being deleted outside Storeplane (Terminating)`,
      ],
      restored: [],
    };
  }

  const restored = await reapplyGuardrails(ctx, namespace);
  const problems: string[] = [];
  const { workloads, unavailable } = await workloadAvailability(ctx);
  if (workloads.length === 0) {
    problems.push(
      `No Deployments or StatefulSets match ${ctx.engine.workloadSelector} in ${store.namespace}`,
    );
  } else if (unavailable.length > 0) {
    problems.push(
      `Workloads without all replicas available: ${unavailable.join(', ')}`,
    );
  }
  const health = await probeStoreHealth(ctx);
  if (!health.passed) problems.push(health.message);
  return { type: 'checked', problems, restored };
}

/**
 * Server-side applies every guardrail again and reports those the apply had to change: a
 * resourceVersion that moved between the read and the apply (or an object that was missing)
 * means someone had deleted or edited it.
 */
async function reapplyGuardrails(
  ctx: StepContext,
  namespace: NamespaceObject,
): Promise<string[]> {
  const { kube, store, config } = ctx;
  const restored: string[] = [];
  const applyAndCompare = async (
    manifest: KubernetesObject,
    before: KubernetesObject | undefined,
  ) => {
    const after = await kube.apply(manifest);
    const name = `${manifest.kind}/${manifest.metadata!.name}`;
    if (!before) restored.push(`${name} (deleted; created again)`);
    else if (
      before.metadata?.resourceVersion !== after.metadata?.resourceVersion
    )
      restored.push(`${name} (changed; Storeplane's fields applied again)`);
  };
  const read = (manifest: KubernetesObject) =>
    kube.read(
      manifest.apiVersion!,
      manifest.kind!,
      manifest.metadata!.namespace,
      manifest.metadata!.name!,
    );

  await applyAndCompare(namespaceManifest(store), namespace);
  const { serviceAccount, storeManagerClusterRole } = config.kubernetes;
  if (serviceAccount) {
    const binding = managerRoleBindingManifest(
      store,
      storeManagerClusterRole,
      serviceAccount,
    );
    // This binding is what lets Storeplane read in the namespace, so reading it is refused
    // when it is gone.
    const before = await read(binding).catch(error => {
      if (statusCode(error) === 403) return undefined;
      throw error;
    });
    if (before) {
      await applyAndCompare(binding, before);
    } else {
      await kube.apply(binding);
      await ensureNamespaceRights(ctx);
      // Refused even with the binding in place: the store-manager role lacks `get` on
      // RoleBindings (an older chart); this read fails and says so.
      await read(binding);
      restored.push(
        `RoleBinding/${binding.metadata!.name} (deleted; created again)`,
      );
    }
  }
  for (const manifest of namespaceGuardrailManifests(ctx)) {
    await applyAndCompare(manifest, await read(manifest));
  }
  return restored;
}
