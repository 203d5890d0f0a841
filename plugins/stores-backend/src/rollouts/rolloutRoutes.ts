import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { BasicPermission } from '@backstage/plugin-permission-common';
import {
  Rollout,
  RolloutDetails as RolloutDetailsView,
  rolloutCreatePermission,
  rolloutManagePermission,
  rolloutReadPermission,
} from '@storeplane/plugin-stores-common';
import { Request, Router } from 'express';
import { AuditedRouteContext } from '../service/routeContext';
import { RolloutRecord } from '../database/RolloutRepository';
import { RolloutDetails, RolloutService } from './RolloutService';

/** What the rollout routes borrow from the stores router: its permission and audit checks. */
export interface RolloutRouteContext extends AuditedRouteContext {
  rollouts: RolloutService;
  /** Allows or throws NotAllowedError; a service may read, and change only when allowed to. */
  authorizeBasic(
    req: Request,
    permission: BasicPermission,
    what: string,
  ): Promise<BackstageCredentials>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toRolloutView(rollout: RolloutRecord): Rollout {
  return {
    id: rollout.id,
    status: rollout.status,
    engine: rollout.engine,
    targetChartVersion: rollout.targetChartVersion,
    waveSize: rollout.waveSize,
    pauseSeconds: Math.round(rollout.pauseMs / 1000),
    maxFailures: rollout.maxFailures,
    currentWave: rollout.currentWave,
    waveCount: rollout.waveCount,
    haltReason: rollout.haltReason,
    createdBy: rollout.createdBy,
    createdAt: iso(rollout.createdAt),
    updatedAt: iso(rollout.updatedAt),
  };
}

function toDetailsView(details: RolloutDetails): RolloutDetailsView {
  return {
    rollout: toRolloutView(details.rollout),
    stores: details.items.map(item => ({
      storeId: item.storeId,
      wave: item.wave,
      result: item.result,
      reason: item.reason,
      fromChartVersion: item.fromChartVersion,
    })),
    events: details.events.map(event => ({
      id: event.id,
      createdAt: iso(event.createdAt),
      type: event.type,
      level: event.level,
      message: event.message,
      actor: event.actor,
    })),
  };
}

/**
 * `GET|POST /rollouts`, `GET /rollouts/:rolloutId`, `POST /rollouts/:rolloutId/pause|resume|abort`
 * (bodies and parameters are validated against openapi.yaml first). Administrators only in the
 * shipped policy: the permissions are basic ones, not store permissions.
 */
export function registerRolloutRoutes(
  router: Router,
  context: RolloutRouteContext,
) {
  const { rollouts, authorizeBasic, audited, actorOf } = context;

  router.get('/rollouts', async (req, res) => {
    await authorizeBasic(req, rolloutReadPermission, 'read fleet rollouts');
    const limit = Number(req.query.limit ?? 20);
    res.json({
      items: (await rollouts.listRollouts(limit)).map(toRolloutView),
    });
  });

  router.post('/rollouts', async (req, res) => {
    const created = await audited(req, 'rollout-create', {}, async () => {
      const credentials = await authorizeBasic(
        req,
        rolloutCreatePermission,
        'start fleet rollouts',
      );
      const {
        engine,
        targetChartVersion,
        waveSize,
        pauseSeconds,
        maxFailures,
      } = req.body ?? {};
      return rollouts.createRollout(
        {
          engine,
          targetChartVersion,
          waveSize,
          maxFailures,
          pauseMs: pauseSeconds === undefined ? undefined : pauseSeconds * 1000,
        },
        actorOf(credentials),
      );
    });
    res.status(202).json(toRolloutView(created));
  });

  router.get('/rollouts/:rolloutId', async (req, res) => {
    await authorizeBasic(req, rolloutReadPermission, 'read fleet rollouts');
    res.json(
      toDetailsView(await rollouts.describeRollout(req.params.rolloutId)),
    );
  });

  for (const command of ['pause', 'resume', 'abort'] as const) {
    router.post(`/rollouts/:rolloutId/${command}`, async (req, res) => {
      const { rolloutId } = req.params;
      const updated = await audited(
        req,
        `rollout-${command}`,
        { rolloutId },
        async () => {
          const credentials = await authorizeBasic(
            req,
            rolloutManagePermission,
            `${command} fleet rollouts`,
          );
          return rollouts[command](rolloutId, actorOf(credentials));
        },
      );
      res.json(toRolloutView(updated));
    });
  }
}
