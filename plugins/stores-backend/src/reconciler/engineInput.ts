import { StorePlan, storeKubernetesId } from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import { StoreRecord } from '../database/StoreRepository';
import { EngineStoreInput } from '../engines/types';
import { CREDENTIALS_SECRET } from '../kubernetes/storeResources';

/** What the engine needs to render one store, derived from the store and config. */
export function engineInputFor(
  store: Pick<StoreRecord, 'id' | 'name' | 'description' | 'namespace'> & {
    domain?: string | null;
  },
  plan: StorePlan,
  config: StoresConfig,
): EngineStoreInput {
  const host = `${store.namespace}.${config.ingress.baseDomain}`;
  const scheme = config.ingress.tls.enabled ? 'https' : 'http';
  const port = config.ingress.port ? `:${config.ingress.port}` : '';
  return {
    id: store.id,
    name: store.name,
    description: store.description,
    namespace: store.namespace,
    plan,
    host,
    url: `${scheme}://${host}${port}`,
    customDomain: store.domain ?? null,
    kubernetesId: storeKubernetesId(store.id),
    secretName: CREDENTIALS_SECRET,
    ingress: {
      className: config.ingress.className,
      tls: {
        enabled: config.ingress.tls.enabled,
        secretName: config.ingress.tls.secretName,
        customDomainSecretName: `${store.namespace}-domain-tls`,
      },
      annotations: {
        ...config.ingress.annotations,
        ...(config.ingress.tls.enabled ? config.ingress.tls.annotations : {}),
      },
    },
    storageClass: config.storageClass,
  };
}
