import {
  storeReadPermission,
  storeUpdatePermission,
} from '@storeplane/plugin-stores-common';
import { Router } from 'express';
import { StoreRouteContext } from '../service/routeContext';
import { StoreDomains } from './StoreDomains';

/** What the domain routes borrow from the stores router: its permission and audit checks. */
export interface DomainRouteContext extends StoreRouteContext {
  domains: StoreDomains;
}

/** `GET|POST|DELETE /stores/:id/domain` (the body is validated against openapi.yaml first). */
export function registerDomainRoutes(
  router: Router,
  context: DomainRouteContext,
) {
  const { domains, authorizeStore, audited, actorOf } = context;

  router.get('/stores/:id/domain', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    res.json(domains.describe(store));
  });

  router.post('/stores/:id/domain', async (req, res) => {
    const updated = await audited(
      req,
      'store-domain-set',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeUpdatePermission,
        );
        return domains.setDomain(store, req.body, actorOf(credentials));
      },
    );
    res.status(202).json(domains.describe(updated));
  });

  router.delete('/stores/:id/domain', async (req, res) => {
    const updated = await audited(
      req,
      'store-domain-remove',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeUpdatePermission,
        );
        return domains.removeDomain(store, actorOf(credentials));
      },
    );
    res.status(202).json(domains.describe(updated));
  });
}
