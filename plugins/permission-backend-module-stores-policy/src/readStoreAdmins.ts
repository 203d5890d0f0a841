import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';

const KEY = 'storeplane.permissions.admins';

/**
 * `storeplane.permissions.admins`: full user or group entity refs, normalised to lowercase.
 * A wrong entry stops the backend at startup with the key and the entry, rather than
 * silently granting nobody (or somebody else) administration.
 *
 * @public
 */
export function readStoreAdmins(config: Config): string[] {
  const refs = config.getOptionalStringArray(KEY) ?? [];
  return refs.map(ref => {
    let parsed;
    try {
      parsed = parseEntityRef(ref);
    } catch (error) {
      throw new Error(
        `Invalid config at '${KEY}': '${ref}' is not an entity ref (${
          (error as Error).message
        })`,
      );
    }
    const kind = parsed.kind.toLowerCase();
    if (kind !== 'user' && kind !== 'group') {
      throw new Error(
        `Invalid config at '${KEY}': '${ref}' must be a user or group entity ref, e.g. group:default/platform-admins`,
      );
    }
    return stringifyEntityRef(parsed).toLowerCase();
  });
}
