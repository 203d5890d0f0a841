import { isIP } from 'node:net';
import { promises as dns } from 'node:dns';

/** A lookup that the resolver does not answer within this (two tries) is a failed check. */
const LOOKUP_TIMEOUT_MS = 5000;

/**
 * What a DNS check found for a custom domain.
 */
export interface DomainCheckResult {
  /** The domain leads to the ingress address. */
  pointsAtIngress: boolean;
  /** What was found, in plain words (shown to the owner). */
  message: string;
}

/**
 * Tells whether a custom domain resolves to the cluster's ingress address. Pluggable so
 * that tests, and clusters with a DNS that this backend cannot see, can answer it.
 */
export interface DomainResolver {
  /** `ingressAddress` is a host name or an IP address. */
  check(domain: string, ingressAddress: string): Promise<DomainCheckResult>;
}

/** The calls of node:dns/promises the check makes (a seam for tests). */
export interface DnsLookups {
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
  resolveCname(host: string): Promise<string[]>;
}

const normalise = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** No such record (or no such name) is an answer, not a fault. */
async function records(lookup: () => Promise<string[]>): Promise<string[]> {
  try {
    return (await lookup()).map(normalise);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

/**
 * The default check, through the resolver this process uses: the domain points at the
 * ingress when its CNAME is the ingress host name, or when its A/AAAA addresses include the
 * ingress address (or one of the ingress host name's own addresses).
 */
export class DnsDomainResolver implements DomainResolver {
  constructor(
    private readonly lookups: DnsLookups = new dns.Resolver({
      timeout: LOOKUP_TIMEOUT_MS,
      tries: 2,
    }),
  ) {}

  async check(
    domain: string,
    ingressAddress: string,
  ): Promise<DomainCheckResult> {
    const target = normalise(ingressAddress);
    const addressesOf = async (host: string) => [
      ...(await records(() => this.lookups.resolve4(host))),
      ...(await records(() => this.lookups.resolve6(host))),
    ];
    const cnames = await records(() => this.lookups.resolveCname(domain));
    if (cnames.includes(target)) {
      return {
        pointsAtIngress: true,
        message: `${domain} is a CNAME of ${target}`,
      };
    }
    const found = await addressesOf(domain);
    const expected = isIP(target) ? [target] : await addressesOf(target);
    if (found.some(address => expected.includes(address))) {
      return {
        pointsAtIngress: true,
        message: `${domain} resolves to ${found.join(', ')}`,
      };
    }
    const seen = [
      ...cnames.map(c => `CNAME ${c}`),
      ...found.map(a => `address ${a}`),
    ];
    return {
      pointsAtIngress: false,
      message: `${domain} does not point at ${target} yet (${
        seen.length > 0 ? `found ${seen.join(', ')}` : 'no DNS records found'
      }); ${
        isIP(target)
          ? `create an ${
              isIP(target) === 6 ? 'AAAA' : 'A'
            } record for ${domain} with the address ${target}`
          : `create a CNAME record for ${domain} to ${target}`
      }`,
    };
  }
}
