import { InputError } from '@backstage/errors';
import {
  describeIssues,
  listStoresQuerySchema,
  StoreStatus,
} from '@storeplane/plugin-stores-common';
import { Request, Router } from 'express';
import { StoresConfig } from '../config/readStoresConfig';
import { ownerCosts } from '../cost/ownerCosts';
import { listPlanCosts } from '../cost/planCosts';
import {
  StoreAccessFilter,
  StoreRepository,
} from '../database/StoreRepository';
import { EngineRegistry } from '../engines/EngineRegistry';

/** What the cost routes borrow from the stores router. */
export interface CostRouteContext {
  config: StoresConfig;
  engines: EngineRegistry;
  repository: StoreRepository;
  /** Signed-in callers only (plan prices are configuration, like GET /plans). */
  requireCredentials(req: Request): Promise<unknown>;
  /** The stores the caller may list, as GET /stores decides it (403 when none). */
  listAccess(req: Request): Promise<StoreAccessFilter | undefined>;
}

/** The one filter of GET /stores that `GET /costs/by-owner` checks itself (status: the validator). */
const ownerQuerySchema = listStoresQuerySchema.pick({ owner: true });

/**
 * `GET /plan-costs` (each plan's monthly estimate, so the Stores page prices its rows without a
 * request per store) and `GET /costs/by-owner` (those estimates added up per owner over every
 * store the caller may list, counted in SQL rather than from one page of the list).
 */
export function registerCostRoutes(router: Router, context: CostRouteContext) {
  const { config, engines, repository, requireCredentials, listAccess } =
    context;
  // Prices and plans are configuration, read once at startup: priced once here, not per request.
  const planCosts = listPlanCosts(config, engines);

  router.get('/plan-costs', async (req, res) => {
    await requireCredentials(req);
    res.json(planCosts);
  });

  router.get('/costs/by-owner', async (req, res) => {
    const parsed = ownerQuerySchema.safeParse(req.query);
    if (!parsed.success)
      throw new InputError(`Invalid query: ${describeIssues(parsed.error)}`);
    const access = await listAccess(req);
    if (!planCosts.currency) {
      res.json({ currency: null, items: [] });
      return;
    }
    const counts = await repository.countStoresByOwnerAndPlan({
      owner: parsed.data.owner,
      // The OpenAPI validator has checked it is one of the statuses.
      status: req.query.status as StoreStatus | undefined,
      access,
    });
    res.json(ownerCosts(planCosts, counts));
  });
}
