import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import { Request } from 'express';
import { StoreRecord } from '../database/StoreRepository';

/** What route modules borrow from the stores router: its audit wrapper and actor naming. */
export interface AuditedRouteContext {
  /** Runs a mutation, its permission check included, inside an auditor event. */
  audited<T>(
    req: Request,
    eventId: string,
    meta: Record<string, string>,
    fn: () => Promise<T>,
  ): Promise<T>;
  actorOf(credentials: BackstageCredentials): string;
}

/** ...and, for routes under `/stores/:id`, its store permission check. */
export interface StoreRouteContext extends AuditedRouteContext {
  authorizeStore(
    req: Request<{ id: string }>,
    permission: ResourcePermission,
  ): Promise<{ store: StoreRecord; credentials: BackstageCredentials }>;
}
