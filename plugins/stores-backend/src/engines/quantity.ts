/**
 * Kubernetes resource quantities, just enough to add plan sizes together:
 * CPU in millicores, memory and storage in bytes.
 */
const suffixes: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

const pattern = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** Parses a quantity to its base unit (cores, bytes). Throws a readable error when invalid. */
export function parseQuantity(value: string, what = 'quantity'): number {
  const match = pattern.exec(String(value).trim());
  if (!match) {
    throw new Error(
      `${what} '${value}' is not a Kubernetes quantity such as 250m, 512Mi or 2Gi`,
    );
  }
  return Number(match[1]) * suffixes[match[2] ?? ''];
}

export function formatMillicores(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function formatMebibytes(bytes: number): string {
  const mi = Math.ceil(bytes / 1024 ** 2);
  return mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
}
