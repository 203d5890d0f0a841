import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { StoresClient } from '@storeplane/plugin-stores-common';
import { examples } from './deleteStoreAction.examples';
import {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_TIMEOUT_MINUTES,
  StoreActionOptions,
  storesApiForInitiator,
} from './storesApi';
import { isNotFound, waitForStoreDeletion } from './waitForStore';

/**
 * `storeplane:store:delete` deletes a store on behalf of the user who runs the template.
 * Deleting is idempotent (a store that is already gone counts as deleted), so a retried
 * task needs no checkpoint.
 *
 * @public
 */
export function createStoreDeleteAction(options: StoreActionOptions) {
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;

  return createTemplateAction({
    id: 'storeplane:store:delete',
    description:
      'Deletes a Storeplane store, given its id or the ref of its catalog entity',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        storeId: z =>
          z
            .string({ description: 'Id of the store; or give entityRef' })
            .optional(),
        entityRef: z =>
          z
            .string({
              description:
                'Ref of the catalog entity of the store, e.g. resource:default/store-summer-sale-x1y2z; or give storeId',
            })
            .optional(),
        waitForDeletion: z =>
          z
            .boolean({
              description:
                'Wait until the store and its namespace are gone before the step completes',
            })
            .default(false)
            .optional(),
        timeoutMinutes: z =>
          z
            .number({
              description:
                'How long to wait for the deletion before the step fails',
            })
            .positive()
            .default(DEFAULT_TIMEOUT_MINUTES)
            .optional(),
      },
      output: {
        storeId: z =>
          z
            .string({
              description: 'Id of the deleted store, when it was found',
            })
            .optional(),
        status: z =>
          z.string({
            description:
              'Deleting while the deletion runs in the background, Deleted once the store is gone',
          }),
      },
    },
    async handler(ctx) {
      const { storeId: givenId, entityRef } = ctx.input;
      if (!givenId === !entityRef) {
        throw new InputError(
          'Give either storeId or entityRef of the store to delete, not both',
        );
      }
      const waitForDeletion = ctx.input.waitForDeletion ?? false;
      const timeoutMinutes =
        ctx.input.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES;
      const { client, getToken } = await storesApiForInitiator(options, ctx);

      const storeId =
        givenId ??
        (await findStoreIdByEntityRef(
          client,
          normalizeEntityRef(entityRef!),
          await getToken(),
        ));
      if (!storeId) {
        ctx.logger.info(
          `No store belongs to ${entityRef}; it is already gone, nothing to delete`,
        );
        ctx.output('status', 'Deleted');
        return;
      }
      ctx.output('storeId', storeId);

      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would delete store ${storeId}`);
        ctx.output('status', waitForDeletion ? 'Deleted' : 'Deleting');
        return;
      }

      try {
        await client.deleteStore(storeId, {
          token: await getToken(),
          signal: ctx.signal,
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        ctx.logger.info(`Store ${storeId} is already gone, nothing to delete`);
        ctx.output('status', 'Deleted');
        return;
      }
      ctx.logger.info(`Deletion of store ${storeId} started`);

      if (!waitForDeletion) {
        ctx.output('status', 'Deleting');
        return;
      }
      await waitForStoreDeletion({
        client,
        storeId,
        getToken,
        logger: ctx.logger,
        signal: ctx.signal,
        timeoutMs: timeoutMinutes * 60_000,
        pollIntervalMs,
      });
      ctx.logger.info(`Store ${storeId} is deleted`);
      ctx.output('status', 'Deleted');
    },
  });
}

/** Accepts the short forms people type (`store-x`, `resource:store-x`). */
function normalizeEntityRef(ref: string): string {
  try {
    return stringifyEntityRef(
      parseEntityRef(ref, {
        defaultKind: 'resource',
        defaultNamespace: 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch (error) {
    throw new InputError(`entityRef "${ref}" is not a valid entity ref`);
  }
}

async function findStoreIdByEntityRef(
  client: StoresClient,
  entityRef: string,
  token: string,
): Promise<string | undefined> {
  const { items } = await client.listStores({ entityRef, limit: 1 }, { token });
  return items[0]?.id;
}
