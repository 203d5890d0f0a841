import {
  PermissionsService,
  PermissionsServiceRequestOptions,
} from '@backstage/backend-plugin-api';
import {
  AuthorizePermissionRequest,
  AuthorizePermissionResponse,
  QueryPermissionRequest,
  QueryPermissionResponse,
} from '@backstage/plugin-permission-common';

/** Decisions kept at most; the oldest go first (with one TTL, also the first to expire). */
export const DECISION_CACHE_MAX_ENTRIES = 10_000;

type Decision = AuthorizePermissionResponse | QueryPermissionResponse;

/**
 * Remembers the permission decisions of user principals for a few seconds, so the same user
 * asking the same thing again (a list page after a list page, a store's events after the
 * store) does not make another round trip to the permission backend. A decision's inputs
 * change no faster than that: the user's ownership claims are fixed in the token, the
 * policy's other input is config. Service and other principals pass straight through
 * (Backstage answers them without a round trip). Failures are never remembered.
 */
export class CachedPermissions implements PermissionsService {
  private readonly decisions = new Map<
    string,
    { decision: Decision; expiresAt: number }
  >();

  constructor(
    private readonly permissions: PermissionsService,
    private readonly options: {
      ttlMs: number;
      maxEntries?: number;
      now?: () => number;
    },
  ) {}

  authorize(
    requests: AuthorizePermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ): Promise<AuthorizePermissionResponse[]> {
    return this.decide(
      'authorize',
      requests,
      options,
      misses => this.permissions.authorize(misses, options),
      request => request.resourceRef,
    );
  }

  authorizeConditional(
    requests: QueryPermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ): Promise<QueryPermissionResponse[]> {
    return this.decide(
      'conditional',
      requests,
      options,
      misses => this.permissions.authorizeConditional(misses, options),
      () => undefined,
    );
  }

  private async decide<R extends { permission: { name: string } }, D>(
    method: string,
    requests: R[],
    options: PermissionsServiceRequestOptions,
    ask: (misses: R[]) => Promise<D[]>,
    resourceRefOf: (request: R) => string | undefined,
  ): Promise<D[]> {
    const principal = options.credentials.principal as {
      type: string;
      userEntityRef?: string;
    };
    if (
      this.options.ttlMs <= 0 ||
      principal.type !== 'user' ||
      !principal.userEntityRef
    ) {
      return ask(requests);
    }
    const keys = requests.map(request =>
      JSON.stringify([
        principal.userEntityRef,
        method,
        request.permission.name,
        resourceRefOf(request) ?? null,
      ]),
    );
    const now = (this.options.now ?? Date.now)();
    const answers = keys.map(key => this.lookUp(key, now) as D | undefined);
    const missing = requests.filter((_, i) => answers[i] === undefined);
    if (missing.length === 0) return answers as D[];
    const fresh = await ask(missing);
    // The TTL counts from the answer, not from the question.
    const answeredAt = (this.options.now ?? Date.now)();
    let next = 0;
    return answers.map((answer, i) => {
      if (answer !== undefined) return answer;
      const decision = fresh[next++];
      this.remember(keys[i], decision as Decision, answeredAt);
      return decision;
    });
  }

  private lookUp(key: string, now: number): Decision | undefined {
    const entry = this.decisions.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.decisions.delete(key);
      return undefined;
    }
    return entry.decision;
  }

  private remember(key: string, decision: Decision, now: number) {
    // Re-inserted at the end, so the map stays in order of expiry (one TTL for all): the
    // expired and, past the cap, the oldest are always at its start.
    this.decisions.delete(key);
    this.decisions.set(key, { decision, expiresAt: now + this.options.ttlMs });
    const max = this.options.maxEntries ?? DECISION_CACHE_MAX_ENTRIES;
    for (const [oldest, entry] of this.decisions) {
      if (this.decisions.size <= max && entry.expiresAt > now) break;
      this.decisions.delete(oldest);
    }
  }

  /** Decisions held now (expired ones may linger until the next write). */
  get size(): number {
    return this.decisions.size;
  }
}
