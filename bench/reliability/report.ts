import type { watchHelmActivity } from '../../plugins/stores-backend/src/__testUtils__/realCluster';

/** What a scenario measured: one line for the docs, details, and broken invariants. */
export interface Figure {
  name: string;
  line: string;
  details: string[];
  violations: string[];
}

export type HelmActivity = Awaited<ReturnType<typeof watchHelmActivity>>;
