import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { createConditionTransformer } from '@backstage/plugin-permission-node';
import {
  describeIssues,
  listStoresQuerySchema,
  storeBackupPermission,
  storeRestorePermission,
  storeContentSuggestPermission,
  storeCreatePermission,
  storeCredentialsReadPermission,
  storeDeletePermission,
  storeIdFromRef,
  storeReadPermission,
  storeRetryPermission,
  STORE_DESCRIPTION_MAX_LENGTH,
  STORE_NAME_INPUT_MAX_LENGTH,
  textProblem,
  storeUpdatePermission,
} from '@storeplane/plugin-stores-common';
import express, { Request } from 'express';
import { createOpenApiRouter, spec } from '../schema/openapi';
import { StoresConfig } from '../config/readStoresConfig';
import { ContentSuggester } from '../content/ContentSuggester';
import {
  StoreAccessFilter,
  StoreRecord,
  StoreRepository,
} from '../database/StoreRepository';
import { registerDomainRoutes } from '../domains/domainRoutes';
import { StoreDomains } from '../domains/StoreDomains';
import { BackupRepository } from '../database/BackupRepository';
import { RestoreRepository } from '../database/RestoreRepository';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { StoreChangeListener } from '../reconciler/StoreReconciler';
import { EngineRegistry } from '../engines/EngineRegistry';
import { registerRolloutRoutes } from '../rollouts/rolloutRoutes';
import { RolloutService } from '../rollouts/RolloutService';
import { registerBackupRoutes } from './backupRoutes';
import { registerCostRoutes } from './costRoutes';
import { TooManyRequestsError } from './errors';
import {
  decodeChangedStoreListCursor,
  decodeDeletedStoreListCursor,
  decodeEventListCursor,
  decodeStoreListCursor,
  encodeChangedStoreListCursor,
  encodeDeletedStoreListCursor,
  encodeEventListCursor,
  encodeStoreListCursor,
} from './pageCursors';
import { OwnerVerifier } from './OwnerVerifier';
import { storePermissionRules } from './permissionRules';
import { StoresService } from './StoresService';
import { toEventView, toStoreView } from './storeView';
import { nameUnknownBodyFields } from './unknownBodyFields';

export interface RouterOptions {
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  service: StoresService;
  repository: StoreRepository;
  engines: EngineRegistry;
  config: StoresConfig;
  owners: OwnerVerifier;
  suggester: ContentSuggester;
  domains: StoreDomains;
  backups: BackupRepository;
  restores: RestoreRepository;
  /** Announces a store's change of status made by a route (catalog, live UI). */
  onChange: StoreChangeListener;
  /** Returns the cluster client, or throws when no cluster is configured (downloads need it). */
  kubernetes: () => KubernetesClient;
  /** Asks the reconciler to look at due stores now. */
  wakeReconciler: () => void;
  rollouts: RolloutService;
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

/** Any request of the typed router, whatever its route's parameter and body types. */
type IncomingRequest = Parameters<HttpAuthService['credentials']>[0];

const transformConditions = createConditionTransformer(storePermissionRules);

// A date and a time with a zone (`Z` or an offset), as `toISOString` writes it.
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A time query parameter as epoch milliseconds; a 400 unless it is an ISO 8601 date-time. */
function parseTimeParameter(name: string, value: string): number {
  const time = ISO_DATE_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time))
    throw new InputError(
      `${name} must be an ISO 8601 date-time with a zone, such as 2026-11-28T10:00:00Z`,
    );
  return time;
}

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
    owners,
    suggester,
  } = options;
  // Validates path parameters, query strings and bodies against openapi.yaml before any
  // handler runs (400 InputError naming the field); the handlers add the rules the spec
  // cannot express: clean text, name normalisation, owner integrity, permissions, limits.
  const router = await createOpenApiRouter({
    middleware: [express.json({ limit: '16kb' })],
    // Outside production, every response is checked against the spec too (a mismatch is a
    // 500), so the tests and the e2e prove that the generated client's types are true.
    validatorOptions: {
      validateResponses: process.env.NODE_ENV !== 'production',
    },
  });
  router.use(
    nameUnknownBodyFields(req => {
      const { schemas } = spec.components;
      if (req.method === 'PATCH')
        return Object.keys(schemas.UpdateStoreRequest.properties);
      if (req.path.endsWith('/domain'))
        return Object.keys(schemas.SetStoreDomainRequest.properties);
      if (req.path.endsWith('/backups'))
        return Object.keys(schemas.RequestBackupRequest.properties);
      if (req.path.endsWith('/restore'))
        return Object.keys(schemas.RestoreBackupRequest.properties);
      if (req.path.startsWith('/rollouts'))
        return Object.keys(schemas.CreateRolloutRequest.properties);
      return Object.keys(schemas.CreateStoreRequest.properties);
    }),
  );

  const credentialsOf = (req: IncomingRequest) =>
    httpAuth.credentials(req, { allow: ['user', 'service'] });

  /**
   * Backstage allows service principals every permission without asking the policy (only
   * their access restrictions limit them), so the stores plugin decides itself: services
   * may read (the catalog lists every store), and change stores or read credentials only
   * when listed in storeplane.permissions.allowedServices.
   */
  function requireMayChangeStores(credentials: BackstageCredentials) {
    const principal = credentials.principal as {
      type: string;
      subject?: string;
    };
    if (
      principal.type === 'service' &&
      !config.permissions.allowedServices.includes(principal.subject ?? '')
    ) {
      throw new NotAllowedError(
        `Service '${principal.subject}' may only read stores; list it in storeplane.permissions.allowedServices to let it change stores or read credentials`,
      );
    }
  }

  /**
   * Which stores a list may show the caller: all (undefined) or those the policy's conditions
   * select. Never an empty list for a denial: the catalog's sync would read it as "every store
   * is gone" and remove every store entity.
   */
  async function listAccess(
    req: IncomingRequest,
  ): Promise<StoreAccessFilter | undefined> {
    const [decision] = await permissions.authorizeConditional(
      [{ permission: storeReadPermission }],
      { credentials: await credentialsOf(req) },
    );
    if (decision.result === AuthorizeResult.DENY) {
      throw new NotAllowedError(
        `You may not list stores (${storeReadPermission.name})`,
      );
    }
    return decision.result === AuthorizeResult.CONDITIONAL
      ? (transformConditions(decision.conditions) as StoreAccessFilter)
      : undefined;
  }

  /** What each store permission lets the caller do, for 403 messages. */
  const permissionVerbs = new Map<string, string>([
    [storeReadPermission.name, 'read'],
    [storeDeletePermission.name, 'delete'],
    [storeRetryPermission.name, 'retry'],
    [storeUpdatePermission.name, 'change'],
    [storeCredentialsReadPermission.name, 'read the credentials of'],
    [storeContentSuggestPermission.name, 'ask for content suggestions for'],
    [storeBackupPermission.name, 'back up'],
    [storeRestorePermission.name, 'restore a backup of'],
  ]);

  async function authorizeStore(
    req: Request<{ id: string }>,
    permission: ResourcePermission,
  ): Promise<{ store: StoreRecord; credentials: BackstageCredentials }> {
    const credentials = await credentialsOf(req);
    if (permission !== storeReadPermission) requireMayChangeStores(credentials);
    const store = await service.getStore(req.params.id);
    const [decision] = await permissions.authorize(
      [{ permission, resourceRef: store.id }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not ${permissionVerbs.get(permission.name)} store '${
          store.id
        }' (${
          permission.name
        }); ask one of its owners or a Storeplane administrator`,
      );
    }
    return { store, credentials };
  }

  /** A basic permission; `what` says in the 403 what it allows. Services may only read. */
  async function authorizeBasic(
    req: Request,
    permission: BasicPermission,
    what = 'create stores',
  ) {
    const credentials = await credentialsOf(req);
    if (permission.attributes.action !== 'read')
      requireMayChangeStores(credentials);
    const [decision] = await permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`You may not ${what} (${permission.name})`);
    }
    return credentials;
  }

  /**
   * Runs a mutation, its permission check included, inside an auditor event, so allowed,
   * denied and failed attempts are all recorded.
   */
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
    try {
      const store = await audited(req, 'store-create', {}, async () => {
        const credentials = await authorizeBasic(req, storeCreatePermission);
        const request = service.validateCreate(req.body);
        await owners.verify(request.owner, credentials);
        return service.createStore(request, actorOf(credentials));
      });
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
    const { owner, entityRef } = parsed.data;
    // The validator has applied openapi.yaml's defaults (offset 0, limit 50); the generated
    // types still say optional.
    const { status } = req.query;
    const offset = req.query.offset!;
    const limit = req.query.limit!;
    const { cursor } = req.query;
    if (cursor !== undefined && offset !== 0)
      throw new InputError(
        'Pass either cursor or offset, not both: a cursor already says where the page starts',
      );
    if (req.query.updatedSince !== undefined) {
      if (owner || entityRef || status || offset !== 0)
        throw new InputError(
          'updatedSince lists every change, page by page with cursor; it takes no owner, entityRef, status or offset',
        );
      const page = await repository.listChangedStores({
        since: parseTimeParameter('updatedSince', req.query.updatedSince),
        after:
          cursor !== undefined
            ? decodeChangedStoreListCursor(cursor)
            : undefined,
        limit,
        access: await listAccess(req),
      });
      res.json({
        items: page.items.map(toStoreView),
        totalCount: page.items.length,
        totalCountCapped: page.next !== undefined,
        offset,
        limit,
        nextCursor: page.next ? encodeChangedStoreListCursor(page.next) : null,
      });
      return;
    }
    const after =
      cursor !== undefined ? decodeStoreListCursor(cursor) : undefined;
    const ids = entityRef ? [storeIdFromRef(entityRef)] : undefined;
    const { items, next, ...counted } = await repository.listStores({
      owner,
      status,
      ids,
      after,
      offset,
      limit,
      access: await listAccess(req),
    });
    res.json({
      items: items.map(toStoreView),
      ...counted,
      offset,
      limit,
      nextCursor: next ? encodeStoreListCursor(next) : null,
    });
  });

  router.get('/deleted-stores', async (req, res) => {
    const since = parseTimeParameter('deletedSince', req.query.deletedSince);
    const after =
      req.query.cursor !== undefined
        ? decodeDeletedStoreListCursor(req.query.cursor)
        : undefined;
    const page = await repository.listDeletedStores({
      since,
      after,
      limit: req.query.limit!,
      access: await listAccess(req),
    });
    res.json({
      items: page.items.map(({ id, deletedAt }) => ({
        id,
        deletedAt: new Date(deletedAt).toISOString(),
      })),
      nextCursor: page.next ? encodeDeletedStoreListCursor(page.next) : null,
    });
  });

  router.get('/stores/:id', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    res.json(toStoreView(store));
  });

  // Also for deleted stores during the audit period: their owner and creator are kept, and
  // the permission check sees them like a live store's.
  router.get('/stores/:id/events', async (req, res) => {
    const credentials = await credentialsOf(req);
    const id = req.params.id;
    // Validated before anything is read, so a bad cursor is a 400 whether or not the store exists.
    const beforeId =
      req.query.cursor !== undefined
        ? decodeEventListCursor(req.query.cursor)
        : undefined;
    if (!(await repository.getStoreOwnership(id))) {
      throw new NotFoundError(
        `Store '${id}' does not exist, and no events of a deleted store '${id}' are kept`,
      );
    }
    const [decision] = await permissions.authorize(
      [{ permission: storeReadPermission, resourceRef: id }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not read the events of store '${id}' (${storeReadPermission.name})`,
      );
    }
    const page = await repository.listEventPage(id, {
      limit: req.query.limit!,
      beforeId,
    });
    res.json({
      items: page.items.map(toEventView),
      nextCursor:
        page.nextBeforeId !== undefined
          ? encodeEventListCursor(page.nextBeforeId)
          : null,
    });
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

  router.get('/stores/:id/workloads', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await service.readWorkloads(store));
  });

  router.get('/stores/:id/usage', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await service.readUsage(store));
  });

  router.get('/stores/:id/credentials', async (req, res) => {
    const result = await audited(
      req,
      'store-credentials-read',
      { storeId: req.params.id },
      async () => {
        const { store } = await authorizeStore(
          req,
          storeCredentialsReadPermission,
        );
        return service.readCredentials(store);
      },
    );
    res.setHeader('Cache-Control', 'no-store');
    res.json(result);
  });

  router.post('/stores/:id/retry', async (req, res) => {
    const updated = await audited(
      req,
      'store-retry',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeRetryPermission,
        );
        return service.retryStore(store, actorOf(credentials));
      },
    );
    res.json(toStoreView(updated));
  });

  router.patch('/stores/:id', async (req, res) => {
    const updated = await audited(
      req,
      'store-update',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeUpdatePermission,
        );
        return service.updateStore(store, req.body, actorOf(credentials));
      },
    );
    res.json(toStoreView(updated));
  });

  router.post('/stores/:id/upgrade', async (req, res) => {
    const updated = await audited(
      req,
      'store-upgrade',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeUpdatePermission,
        );
        return service.upgradeStore(store, actorOf(credentials));
      },
    );
    res.status(202).json(toStoreView(updated));
  });

  router.delete('/stores/:id', async (req, res) => {
    const updated = await audited(
      req,
      'store-delete',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeDeletePermission,
        );
        return service.deleteStore(store, actorOf(credentials));
      },
    );
    res.status(202).json(toStoreView(updated));
  });

  registerDomainRoutes(router, {
    domains: options.domains,
    authorizeStore,
    audited,
    actorOf,
  });

  registerBackupRoutes(router, {
    backups: options.backups,
    restores: options.restores,
    repository,
    kubernetes: options.kubernetes,
    engines,
    config,
    onChange: options.onChange,
    wakeReconciler: options.wakeReconciler,
    authorizeStore,
    audited,
    actorOf,
  });

  registerCostRoutes(router, {
    config,
    engines,
    repository,
    requireCredentials: credentialsOf,
    listAccess,
  });

  registerRolloutRoutes(router, {
    rollouts: options.rollouts,
    authorizeBasic,
    audited,
    actorOf,
  });

  router.post('/stores/:id/content-suggestions', async (req, res) => {
    const { store } = await authorizeStore(req, storeContentSuggestPermission);
    res.json(
      await suggester.suggest({
        name: store.name,
        description: store.description ?? undefined,
      }),
    );
  });

  router.post('/content-suggestions', async (req, res) => {
    await authorizeBasic(req, storeCreatePermission);
    const { name, description } = req.body;
    for (const [field, value, rule] of [
      ['name', name, { maxLength: STORE_NAME_INPUT_MAX_LENGTH }],
      [
        'description',
        description ?? '',
        { maxLength: STORE_DESCRIPTION_MAX_LENGTH, multiline: true },
      ],
    ] as const) {
      const problem = textProblem(value, rule);
      if (problem) throw new InputError(`Invalid ${field}: ${problem}`);
    }
    res.json(await suggester.suggest({ name, description }));
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
