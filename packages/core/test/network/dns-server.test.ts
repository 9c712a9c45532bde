/** The embedded DNS server's answers, driven through `answer()` (no sockets, no traffic). */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsServer } from '../../src/network/dns-server.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const names: Record<string, string[]> = {
  web: ['10.5.0.2', '10.5.0.3'],
  'web.front': ['10.5.0.2', '10.5.0.3'],
};
const server = new DnsServer(
  '127.0.0.1',
  {
    allowed: (client) => client.startsWith('10.5.0.'),
    lookup: (name) => names[name],
    reverse: (ip) => (ip === '10.5.0.2' ? 'web.front' : undefined),
    upstreams: () => [],
  },
  silent,
);

async function ask(name: string, type: dnsPacket.RecordType) {
  const query = dnsPacket.encode({
    type: 'query',
    id: 42,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
  });
  const out = await server.answer(query, '10.5.0.9');
  return dnsPacket.decode(out!);
}

describe('embedded DNS answers', () => {
  it('answers A for names it knows, every address, case-insensitively', async () => {
    const reply = await ask('WEB', 'A');
    expect(reply.id).toBe(42);
    expect(reply.type).toBe('response');
    expect(reply.flag_rd).toBe(true);
    expect(reply.answers?.map((a) => a.data)).toEqual(['10.5.0.2', '10.5.0.3']);
  });

  it('answers AAAA for its names with no records (NOERROR), and PTR for its addresses', async () => {
    const aaaa = await ask('web', 'AAAA');
    expect(aaaa.answers).toEqual([]);
    expect((aaaa as unknown as { rcode: string }).rcode).toBe('NOERROR');
    const ptr = await ask('2.0.5.10.in-addr.arpa', 'PTR');
    expect(ptr.answers?.[0]?.data).toBe('web.front');
  });

  it('says NXDOMAIN for unknown single-label names instead of asking outside', async () => {
    const reply = await ask('nosuch', 'A');
    expect((reply as unknown as { rcode: string }).rcode).toBe('NXDOMAIN');
  });

  it('says SERVFAIL for other names when there is no upstream, and ignores garbage', async () => {
    const reply = await ask('example.org', 'A');
    expect((reply as unknown as { rcode: string }).rcode).toBe('SERVFAIL');
    expect(await server.answer(Buffer.from('garbage'), '10.5.0.9')).toBeUndefined();
  });

  it('stays silent for clients outside its network', async () => {
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'web' }] });
    expect(await server.answer(query, '192.0.2.10')).toBeUndefined();
  });
});
