import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  CreateStoreRequest,
  STORE_NAME_MAX_LENGTH,
  STORE_NAME_MIN_LENGTH,
  StoresClient,
  createStoreRequestSchema,
  describeIssues,
  storeEntityRef,
} from '@storeplane/plugin-stores-common';
import { examples } from './createStoreAction.examples';
import {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_TIMEOUT_MINUTES,
  StoreActionOptions,
  storesApiForInitiator,
} from './storesApi';
import { waitForStoreReady } from './waitForStore';

const DEFAULT_ENGINE = 'woocommerce';

/**
 * `storeplane:store:create` asks the stores backend for a new store on behalf of the user
 * who runs the template and, by default, waits until it is Ready.
 *
 * @public
 */
export function createStoreCreateAction(options: StoreActionOptions) {
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;

  return createTemplateAction({
    id: 'storeplane:store:create',
    description:
      'Creates a WooCommerce store on the Storeplane cluster and waits until it is ready',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z.string({
            description: `Name of the store: ${STORE_NAME_MIN_LENGTH} to ${STORE_NAME_MAX_LENGTH} lowercase letters, digits and dashes, starting with a letter. Spaces and underscores become dashes.`,
          }),
        owner: z =>
          z.string({
            description:
              'Entity ref of the user or group that owns the store, e.g. group:default/team-a',
          }),
        plan: z =>
          z
            .string({
              description:
                'Plan (resource tier) of the store; the backend default when omitted',
            })
            .optional(),
        engine: z =>
          z
            .string({ description: 'Engine that runs the store' })
            .default(DEFAULT_ENGINE)
            .optional(),
        description: z =>
          z
            .string({
              description: 'What the store is for; shown in the catalog',
            })
            .optional(),
        waitForReady: z =>
          z
            .boolean({
              description:
                'Wait until the store has passed every lifecycle gate and is Ready',
            })
            .default(true)
            .optional(),
        timeoutMinutes: z =>
          z
            .number({
              description:
                'How long to wait for the store to become ready before the step fails',
            })
            .positive()
            .default(DEFAULT_TIMEOUT_MINUTES)
            .optional(),
      },
      output: {
        storeId: z => z.string({ description: 'Id of the new store' }),
        entityRef: z =>
          z.string({ description: 'Ref of the catalog entity of the store' }),
        storefrontUrl: z =>
          z
            .string({ description: 'Public URL of the shop, once it is ready' })
            .optional(),
        adminUrl: z =>
          z
            .string({ description: 'URL of wp-admin, once the store is ready' })
            .optional(),
        status: z =>
          z.string({
            description: 'Status of the store when the step finished',
          }),
      },
    },
    async handler(ctx) {
      // The scaffolder validates input against the JSON schema but does not fill in
      // defaults, so they are applied here. A form field left blank arrives as '', which
      // means "not given".
      const request = parseCreateStoreRequest({
        name: ctx.input.name,
        owner: ctx.input.owner,
        plan: ctx.input.plan || undefined,
        engine: ctx.input.engine || DEFAULT_ENGINE,
        description: ctx.input.description || undefined,
      });
      const waitForReady = ctx.input.waitForReady ?? true;
      const timeoutMinutes =
        ctx.input.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES;
      const { client, getToken } = await storesApiForInitiator(options, ctx);

      if (ctx.isDryRun) {
        await checkPlanExists(client, request.plan, await getToken());
        ctx.logger.info(
          `Dry run: would create store "${request.name}" owned by ${
            request.owner
          } with plan ${request.plan ?? '(backend default)'} and engine ${
            request.engine
          }`,
        );
        const storeId = `${request.name}-dry-run`;
        ctx.output('storeId', storeId);
        ctx.output('entityRef', storeEntityRef(storeId));
        ctx.output('storefrontUrl', 'https://dry-run.invalid/');
        ctx.output('adminUrl', 'https://dry-run.invalid/wp-admin/');
        ctx.output('status', waitForReady ? 'Ready' : 'Provisioning');
        return;
      }

      let createdNow = false;
      const { storeId } = await ctx.checkpoint({
        key: `create-store-${request.name}`,
        fn: async () => {
          const created = await client.createStore(request, {
            token: await getToken(),
            signal: ctx.signal,
          });
          createdNow = true;
          return { storeId: created.id };
        },
      });
      ctx.logger.info(
        createdNow
          ? `Asked for store ${storeId} ("${request.name}", owner ${request.owner})`
          : `Store ${storeId} was already asked for by an earlier attempt of this task; following it`,
      );

      const store = waitForReady
        ? await waitForStoreReady({
            client,
            storeId,
            getToken,
            logger: ctx.logger,
            signal: ctx.signal,
            timeoutMs: timeoutMinutes * 60_000,
            pollIntervalMs,
          })
        : await client.getStore(storeId, {
            token: await getToken(),
            signal: ctx.signal,
          });

      if (store.status === 'Ready') {
        ctx.logger.info(`Store ${store.id} is ready at ${store.storefrontUrl}`);
      } else {
        ctx.logger.info(
          `Store ${store.id} is ${store.status}; not waiting for it to become ready`,
        );
      }
      ctx.output('storeId', store.id);
      ctx.output('entityRef', store.entityRef);
      if (store.storefrontUrl) ctx.output('storefrontUrl', store.storefrontUrl);
      if (store.adminUrl) ctx.output('adminUrl', store.adminUrl);
      ctx.output('status', store.status);
    },
  });
}

/** Applies the same rules as the stores backend, so bad input fails before any request. */
function parseCreateStoreRequest(input: CreateStoreRequest) {
  const result = createStoreRequestSchema.safeParse(input);
  if (!result.success) {
    throw new InputError(describeIssues(result.error));
  }
  return result.data;
}

async function checkPlanExists(
  client: StoresClient,
  plan: string | undefined,
  token: string,
) {
  const { items } = await client.listPlans({ token });
  if (plan !== undefined && !items.some(p => p.name === plan)) {
    throw new InputError(
      `Plan "${plan}" does not exist; choose one of: ${items
        .map(p => p.name)
        .join(', ')}`,
    );
  }
}
