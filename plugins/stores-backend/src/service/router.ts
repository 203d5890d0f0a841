import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { createConditionTransformer } from '@backstage/plugin-permission-node';
import {
  describeIssues,
  listStoresQuerySchema,
  storeCreatePermission,
  storeCredentialsReadPermission,
  storeDeletePermission,
  storeIdFromRef,
  storeReadPermission,
  storeRetryPermission,
} from '@storeplane/plugin-stores-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { StoresConfig } from '../config/readStoresConfig';
import { StoreRecord, StoreRepository } from '../database/StoreRepository';
import { EngineRegistry } from '../engines/EngineRegistry';
import { TooManyRequestsError } from './errors';
import { storePermissionRules } from './permissionRules';
import { StoresService } from './StoresService';
import { toEventView, toStoreView } from './storeView';

export interface RouterOptions {
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  service: StoresService;
  repository: StoreRepository;
  engines: EngineRegistry;
  config: StoresConfig;
}

/** Who acts: a user entity ref, or `service:<subject>` for automation with a service token. */
function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  return principal.type === 'user'
    ? principal.userEntityRef!
    : `service:${principal.subject}`;
}

const transformConditions = createConditionTransformer(storePermissionRules);

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const {
    httpAuth,
    permissions,
    auditor,
    service,
    repository,
    engines,
    config,
  } = options;
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  const credentialsOf = (req: Request) =>
    httpAuth.credentials(req, { allow: ['user', 'service'] });

  async function authorizeStore(
    req: Request,
    permission: ResourcePermission,
  ): Promise<{ store: StoreRecord; credentials: BackstageCredentials }> {
    const credentials = await credentialsOf(req);
    const store = await service.getStore(req.params.id);
    const [decision] = await permissions.authorize(
      [{ permission, resourceRef: store.id }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not ${permission.attributes.action ?? 'use'} store '${
          store.id
        }' (${permission.name})`,
      );
    }
    return { store, credentials };
  }

  async function authorizeBasic(req: Request, permission: BasicPermission) {
    const credentials = await credentialsOf(req);
    const [decision] = await permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not create stores (${permission.name})`,
      );
    }
    return credentials;
  }

  /** Runs a mutation inside an auditor event, so success and failure are both recorded. */
  async function audited<T>(
    req: Request,
    eventId: string,
    meta: Record<string, string>,
    fn: () => Promise<T>,
  ) {
    const event = await auditor.createEvent({
      eventId,
      request: req,
      meta,
      severityLevel: 'medium',
    });
    try {
      const result = await fn();
      await event.success();
      return result;
    } catch (error) {
      await event.fail({ error: error as Error });
      throw error;
    }
  }

  router.post('/stores', async (req, res) => {
    const credentials = await authorizeBasic(req, storeCreatePermission);
    const actor = actorOf(credentials);
    try {
      const store = await audited(req, 'store-create', { actor }, () =>
        service.createStore(req.body, actor),
      );
      res.status(201).json(toStoreView(store));
    } catch (error) {
      if (error instanceof TooManyRequestsError)
        res.setHeader('Retry-After', String(error.retryAfterSeconds));
      throw error;
    }
  });

  router.get('/stores', async (req, res) => {
    const parsed = listStoresQuerySchema.safeParse(req.query);
    if (!parsed.success)
      throw new InputError(`Invalid query: ${describeIssues(parsed.error)}`);
    const { owner, entityRef, status, offset, limit } = parsed.data;
    const credentials = await credentialsOf(req);
    const [decision] = await permissions.authorizeConditional(
      [{ permission: storeReadPermission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.DENY) {
      res.json({ items: [], totalCount: 0, offset, limit });
      return;
    }
    const ids = entityRef ? [storeIdFromRef(entityRef)] : undefined;
    const { items, totalCount } = await repository.listStores({
      owner,
      status,
      ids,
      offset,
      limit,
      access:
        decision.result === AuthorizeResult.CONDITIONAL
          ? (transformConditions(decision.conditions) as any)
          : undefined,
    });
    res.json({ items: items.map(toStoreView), totalCount, offset, limit });
  });

  router.get('/stores/:id', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    res.json(toStoreView(store));
  });

  router.get('/stores/:id/events', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    const events = await repository.listEvents(store.id, 500);
    res.json({ items: events.map(toEventView) });
  });

  router.get('/stores/:id/links', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    const view = toStoreView(store);
    res.json({
      storefrontUrl: view.storefrontUrl,
      adminUrl: view.adminUrl,
      entityRef: view.entityRef,
    });
  });

  router.get('/stores/:id/credentials', async (req, res) => {
    const { store, credentials } = await authorizeStore(
      req,
      storeCredentialsReadPermission,
    );
    const result = await audited(
      req,
      'store-credentials-read',
      { storeId: store.id, actor: actorOf(credentials) },
      () => service.readCredentials(store),
    );
    res.setHeader('Cache-Control', 'no-store');
    res.json(result);
  });

  router.post('/stores/:id/retry', async (req, res) => {
    const { store, credentials } = await authorizeStore(
      req,
      storeRetryPermission,
    );
    const actor = actorOf(credentials);
    const updated = await audited(
      req,
      'store-retry',
      { storeId: store.id, actor },
      () => service.retryStore(store, actor),
    );
    res.json(toStoreView(updated));
  });

  router.delete('/stores/:id', async (req, res) => {
    const { store, credentials } = await authorizeStore(
      req,
      storeDeletePermission,
    );
    const actor = actorOf(credentials);
    const updated = await audited(
      req,
      'store-delete',
      { storeId: store.id, actor },
      () => service.deleteStore(store, actor),
    );
    res.status(202).json(toStoreView(updated));
  });

  router.get('/plans', async (req, res) => {
    await credentialsOf(req);
    res.json({ items: [...config.plans.values()] });
  });

  router.get('/engines', async (req, res) => {
    await credentialsOf(req);
    res.json({
      items: engines.list().map(e => ({ name: e.name, title: e.title })),
    });
  });

  return router;
}
