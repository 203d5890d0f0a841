import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const STARTUP_TIMEOUT_MS = 180_000;

const REPO_ROOT = path.resolve(__dirname, '../..');

/** One claim as the stores plugin logs it when it releases a store (database clock). */
export interface ClaimRecord {
  replica: string;
  storeId: string;
  claim: string;
  claimedAt: number;
  /** The store's next attempt time as the claim saw it. */
  dueAt: number;
  releasedAt: number;
}

/**
 * A real Backstage backend with the stores plugin, as a child process (bench/reliability/
 * backend.ts). `kill()` is SIGKILL: no shutdown hook, no lease released, nothing flushed.
 */
export class BackendProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly claims: ClaimRecord[] = [];
  /** Lines of the current and earlier runs (for a failure report). */
  readonly logTail: string[] = [];
  starts = 0;
  kills = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly configFile: string,
    private readonly clockOffsetMs = 0,
    private readonly options: {
      /** The backend's entry point, relative to the repository. */
      entry?: string;
      /** `debug` (the default) logs every claim, which the reliability bench reads. */
      logLevel?: string;
      /** More node options, e.g. `--cpu-prof`. */
      nodeArgs?: string[];
    } = {},
  ) {}

  static writeConfig(file: string, config: unknown) {
    writeFileSync(file, JSON.stringify(config, null, 2));
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The running backend's process id. */
  get pid() {
    return this.child?.pid;
  }

  get running() {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        ...(this.options.nodeArgs ?? []),
        '--require',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        path.join(
          REPO_ROOT,
          this.options.entry ?? 'bench/reliability/backend.ts',
        ),
        '--config',
        this.configFile,
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          NODE_ENV: 'production',
          LOG_LEVEL: this.options.logLevel ?? 'debug',
          STOREPLANE_BENCH_CLOCK_OFFSET_MS: String(this.clockOffsetMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.starts++;
    this.exited = new Promise(resolve => child.once('exit', () => resolve()));
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) this.onLine(line);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // Generous: on 2 cores the test command runs the adoption check beside this bench.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      // Killed on purpose while starting (a crash point hit during startup).
      if (this.child !== child) return;
      if (child.exitCode !== null)
        throw new Error(
          `${this.name} exited during startup:\n${this.logTail
            .slice(-30)
            .join('\n')}`,
        );
      try {
        const response = await fetch(
          `${this.baseUrl}/.backstage/health/v1/readiness`,
        );
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise(resolve => setTimeout(resolve, 200));
    }
    throw new Error(
      `${this.name} was not ready within ${STARTUP_TIMEOUT_MS / 1000} s`,
    );
  }

  /** SIGKILL, then wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.kills++;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Ends the process normally (SIGTERM; SIGKILL after 10 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(line: string) {
    this.logTail.push(line);
    if (this.logTail.length > 400) this.logTail.splice(0, 200);
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line);
      if (
        typeof entry.message === 'string' &&
        entry.message.startsWith('Released store ') &&
        entry.claim
      ) {
        this.claims.push({
          replica: this.name,
          storeId: entry.storeId,
          claim: entry.claim,
          claimedAt: Number(entry.claimedAt),
          dueAt: Number(entry.dueAt),
          releasedAt: Number(entry.releasedAt),
        });
      }
    } catch {
      // not a JSON log line
    }
  }
}

/**
 * Claims of a store that was not due when it was claimed (must be none: the claim re-checks the
 * due time in its UPDATE). `dueAt` and `claimedAt` are both the database's clock.
 */
export function notDueClaims(claims: ClaimRecord[]) {
  return claims.filter(claim => !(claim.dueAt <= claim.claimedAt));
}

/** Pairs of claims on one store whose spans overlap (must be none). */
export function overlappingClaims(claims: ClaimRecord[]) {
  const byStore = new Map<string, ClaimRecord[]>();
  for (const claim of claims) {
    byStore.set(claim.storeId, [...(byStore.get(claim.storeId) ?? []), claim]);
  }
  const overlaps: Array<[ClaimRecord, ClaimRecord]> = [];
  for (const list of byStore.values()) {
    list.sort((a, b) => a.claimedAt - b.claimedAt);
    for (let i = 1; i < list.length; i++) {
      // Any earlier claim still held when this one began.
      for (let j = 0; j < i; j++) {
        if (list[j].releasedAt > list[i].claimedAt)
          overlaps.push([list[j], list[i]]);
      }
    }
  }
  return overlaps;
}
