import { DnsDomainResolver, DnsLookups } from './DomainResolver';

/** A DNS zone as node:dns/promises answers it: missing records are ENODATA, names ENOTFOUND. */
function zone(records: {
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  cname?: Record<string, string[]>;
  failing?: string;
}): DnsLookups {
  const known = new Set(
    [records.a, records.aaaa, records.cname].flatMap(r => Object.keys(r ?? {})),
  );
  const lookup = (table?: Record<string, string[]>) => async (host: string) => {
    if (host === records.failing)
      throw Object.assign(new Error(`queryA ESERVFAIL ${host}`), {
        code: 'ESERVFAIL',
      });
    if (table?.[host]) return table[host];
    throw Object.assign(new Error(`no data for ${host}`), {
      code: known.has(host) ? 'ENODATA' : 'ENOTFOUND',
    });
  };
  return {
    resolve4: lookup(records.a),
    resolve6: lookup(records.aaaa),
    resolveCname: lookup(records.cname),
  };
}

describe('DnsDomainResolver', () => {
  it('accepts a CNAME to the ingress host name, whatever its case or trailing dot', async () => {
    const resolver = new DnsDomainResolver(
      zone({ cname: { 'shop.example.org': ['Ingress.Example.NET.'] } }),
    );
    expect(
      await resolver.check('shop.example.org', 'ingress.example.net'),
    ).toEqual({
      pointsAtIngress: true,
      message: 'shop.example.org is a CNAME of ingress.example.net',
    });
  });

  it('accepts A/AAAA records that match the ingress IP or the ingress host name’s addresses', async () => {
    const resolver = new DnsDomainResolver(
      zone({
        a: {
          'shop.example.org': ['203.0.113.7'],
          'ingress.example.net': ['203.0.113.7'],
        },
        aaaa: { 'v6.example.org': ['2001:db8::7'] },
      }),
    );
    expect(
      (await resolver.check('shop.example.org', '203.0.113.7')).pointsAtIngress,
    ).toBe(true);
    expect(
      (await resolver.check('shop.example.org', 'ingress.example.net'))
        .pointsAtIngress,
    ).toBe(true);
    expect(
      (await resolver.check('v6.example.org', '2001:db8::7')).pointsAtIngress,
    ).toBe(true);
  });

  it('says what it found and what record to create when the domain points elsewhere or nowhere', async () => {
    const resolver = new DnsDomainResolver(
      zone({ a: { 'shop.example.org': ['198.51.100.1'] } }),
    );
    expect(await resolver.check('shop.example.org', '203.0.113.7')).toEqual({
      pointsAtIngress: false,
      message:
        'shop.example.org does not point at 203.0.113.7 yet (found address 198.51.100.1); create an A record for shop.example.org with the address 203.0.113.7',
    });
    expect(
      await resolver.check('new.example.org', 'ingress.example.net'),
    ).toEqual({
      pointsAtIngress: false,
      message:
        'new.example.org does not point at ingress.example.net yet (no DNS records found); create a CNAME record for new.example.org to ingress.example.net',
    });
  });

  it('throws when the resolver fails, so the check is reported as failed, not as an answer', async () => {
    const resolver = new DnsDomainResolver(
      zone({ failing: 'shop.example.org' }),
    );
    await expect(
      resolver.check('shop.example.org', 'ingress.example.net'),
    ).rejects.toThrow(/ESERVFAIL/);
  });
});
