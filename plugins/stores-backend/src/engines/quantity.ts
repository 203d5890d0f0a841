/**
 * Kubernetes resource quantities (plan sizes, and what the API server reports in a quota's
 * status): CPU in cores, memory and storage in bytes. client-node's `quantityToScalar` is not
 * among the package's exports and rejects fractions of binary units (`1.5Gi`).
 */
// Divided, not multiplied by 1e-3: 350 / 1000 is 0.35, 350 * 1e-3 is not.
const fractionSuffixes: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };

const suffixes: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

// A decimal number with a suffix or a decimal exponent (`1e3`), as Kubernetes' quantity grammar has it.
const pattern =
  /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?[0-9]+))?$/;

/** Parses a quantity to its base unit (cores, bytes). Throws a readable error when invalid. */
export function parseQuantity(value: string, what = 'quantity'): number {
  const match = pattern.exec(String(value).trim());
  if (!match) {
    throw new Error(
      `${what} '${value}' is not a Kubernetes quantity such as 250m, 512Mi or 2Gi`,
    );
  }
  if (match[3] !== undefined) return Number(`${match[1]}e${match[3]}`);
  const suffix = match[2] ?? '';
  if (suffix in fractionSuffixes)
    return Number(match[1]) / fractionSuffixes[suffix];
  return Number(match[1]) * suffixes[suffix];
}

export function formatMillicores(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function formatMebibytes(bytes: number): string {
  const mi = Math.ceil(bytes / 1024 ** 2);
  return mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
}
