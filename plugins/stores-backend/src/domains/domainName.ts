import { isIP } from 'node:net';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why a custom domain cannot be used, in plain words; undefined when it can. A domain is a
 * lower-case DNS name of RFC 1123 labels, at least two of them, at most 253 characters, not
 * an IP address, not a wildcard, and outside the platform's own base domain (whose hosts
 * Storeplane hands out itself).
 */
export function domainProblem(
  domain: string,
  platformBaseDomain: string,
): string | undefined {
  if (domain.length === 0) return 'it is empty';
  if (domain.length > 253)
    return `it has ${domain.length} characters; a domain has at most 253`;
  if (domain !== domain.toLowerCase())
    return `write it in lower case (${domain.toLowerCase()})`;
  if (isIP(domain) !== 0)
    return 'it is an IP address; give a DNS name such as shop.example.com';
  if (domain.includes('*'))
    return 'wildcards are not allowed; give one host such as shop.example.com';
  if (domain.endsWith('.'))
    return 'leave out the trailing dot (shop.example.com, not shop.example.com.)';
  const labels = domain.split('.');
  if (labels.length < 2)
    return 'it needs at least two labels, such as shop.example.com';
  const bad = labels.find(label => !LABEL.test(label));
  if (bad !== undefined) {
    return `'${bad}' is not a valid label: each dot-separated part has 1 to 63 letters a-z, digits or hyphens and neither starts nor ends with a hyphen`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]))
    return 'its last label is all digits; give a DNS name such as shop.example.com';
  const base = platformBaseDomain.toLowerCase();
  if (domain === base || domain.endsWith(`.${base}`)) {
    return `it is under the platform's own domain ${base}, whose hosts Storeplane assigns itself; the store already answers on its platform host`;
  }
  return undefined;
}
