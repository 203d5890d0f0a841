import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';

/**
 * A setting is present but wrong: startup stops with the key and what is allowed.
 *
 * @public
 */
export class StoresConfigError extends Error {
  readonly name = 'StoresConfigError';
  constructor(key: string, problem: string) {
    super(`Invalid config at 'storeplane.${key}': ${problem}`);
  }
}

/**
 * Reads `storeplane.*` values with defaults, refusing values that would silently mean something else.
 *
 * @public
 */
export class SettingsReader {
  constructor(private readonly config: Config) {}

  /** A present value must be one of `allowed` (exact spelling). */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.config.getOptionalString(key);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new StoresConfigError(
        key,
        `'${value}' is not one of ${allowed.map(a => `'${a}'`).join(', ')}`,
      );
    }
    return value as T;
  }

  string(key: string, fallback: string): string {
    return this.config.getOptionalString(key) ?? fallback;
  }

  optionalString(key: string): string | undefined {
    return this.config.getOptionalString(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.config.getOptionalBoolean(key) ?? fallback;
  }

  /** A whole number of at least `min`. */
  count(key: string, fallback: number, min = 1): number {
    const value = this.config.getOptionalNumber(key) ?? fallback;
    if (!Number.isInteger(value) || value < min) {
      throw new StoresConfigError(
        key,
        `${value} is not a whole number of at least ${min}`,
      );
    }
    return value;
  }

  /**
   * A Backstage duration (`{ seconds: 5 }`, `'5s'`, `'PT5S'`), in milliseconds; zero only
   * with `allowZero` (for settings where 0 turns something off).
   */
  durationMs(
    key: string,
    fallbackMs: number,
    options: { allowZero?: boolean } = {},
  ): number {
    if (!this.config.has(key)) return fallbackMs;
    let ms: number;
    try {
      ms = durationToMilliseconds(readDurationFromConfig(this.config, { key }));
    } catch (error) {
      throw new StoresConfigError(
        key,
        `${
          (error as Error).message
        }. Use e.g. { seconds: 30 }, '30s' or 'PT30S'`,
      );
    }
    if (!(ms > 0) && !(options.allowZero && ms === 0)) {
      throw new StoresConfigError(
        key,
        options.allowZero
          ? 'a duration must not be negative'
          : 'a duration must be longer than zero',
      );
    }
    return ms;
  }

  /** A TCP port number, when present. */
  optionalPort(key: string): number | undefined {
    if (!this.config.has(key)) return undefined;
    const value = this.config.getNumber(key);
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new StoresConfigError(
        key,
        `${value} is not a port number (1 to 65535)`,
      );
    }
    return value;
  }

  stringArray(key: string, fallback: string[]): string[] {
    return this.config.getOptionalStringArray(key) ?? fallback;
  }

  /**
   * Subjects of service principals exactly as Backstage reports them: a static external
   * access token's `subject` as configured, `external:<sub>` for a JWKS token, `plugin:<id>`
   * for another backend plugin. Backstage itself only allows non-space characters.
   */
  serviceSubjects(key: string): string[] {
    const subjects = this.stringArray(key, []);
    const wrong = subjects.find(s => !/^\S+$/.test(s));
    if (wrong !== undefined) {
      throw new StoresConfigError(
        key,
        `'${wrong}' is not a service subject: a subject has no spaces (a static token's subject as configured, external:<sub> for JWKS tokens, plugin:<id>)`,
      );
    }
    return subjects;
  }

  numberArray(key: string, fallback: number[]): number[] {
    return this.config.getOptional<number[]>(key) ?? fallback;
  }

  /**
   * Names to strings, such as Kubernetes labels and annotations. Read as one value because
   * their names (`cert-manager.io/cluster-issuer`) are not valid config keys.
   */
  stringMap(
    key: string,
    fallback: Record<string, string> = {},
  ): Record<string, string> {
    const value = this.config.getOptional(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new StoresConfigError(key, 'must be a map of names to strings');
    }
    const wrong = Object.entries(value).find(([, v]) => typeof v !== 'string');
    if (wrong) {
      throw new StoresConfigError(
        key,
        `the value of '${wrong[0]}' is not a string; quote it`,
      );
    }
    return value as Record<string, string>;
  }
}
