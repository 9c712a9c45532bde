/**
 * iptables for bridge networks, in chains of our own so that removing them removes everything:
 *
 *   filter FORWARD    → <P>               accepts our bridges' traffic (whatever FORWARD's policy)
 *   filter <P>        → <P>-ISOLATION     (first rule) drops traffic between two of our bridges,
 *                       <P>-ISOLATION2    Docker's two-stage isolation
 *   nat PREROUTING, OUTPUT (local dst) → <P>   DNAT for published ports
 *   nat POSTROUTING   → <P>-POSTROUTING    MASQUERADE for traffic leaving a network
 *
 * Rules are argument lists, added with -A and removed with -D by the same arguments. With the
 * nf_tables backend, iptables leaves empty built-in chains and tables behind when it made them;
 * the ones tsdocker made are recorded under /run and removed again once empty (under a host-wide
 * lock, since several daemons may share them), so the ruleset ends as it began.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withHostLock } from './host-lock.js';
import { isGone, run } from './run.js';

export type Table = 'filter' | 'nat';

export interface Rule {
  table: Table;
  chain: string;
  args: string[];
}

const STATE_DIR = '/run/tsdocker-firewall';
const LOCK = `${STATE_DIR}/lock`;
const CREATED = `${STATE_DIR}/created-by-tsdocker.json`;
const BUILTIN: Array<[Table, string]> = [
  ['filter', 'INPUT'],
  ['filter', 'FORWARD'],
  ['filter', 'OUTPUT'],
  ['nat', 'PREROUTING'],
  ['nat', 'INPUT'],
  ['nat', 'OUTPUT'],
  ['nat', 'POSTROUTING'],
];

interface NftObject {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; hook?: string; policy?: string };
  rule?: { family: string; table: string; chain: string };
}

async function nftRuleset(): Promise<NftObject[]> {
  const out = await run('nft', ['-j', 'list', 'ruleset', 'ip']);
  return (JSON.parse(out) as { nftables: NftObject[] }).nftables;
}

async function readCreated(): Promise<string[]> {
  try {
    return JSON.parse(await readFile(CREATED, 'utf8')) as string[];
  } catch {
    return [];
  }
}

async function writeCreated(list: string[]): Promise<void> {
  await mkdir(dirname(CREATED), { recursive: true, mode: 0o700 });
  await writeFile(CREATED, JSON.stringify([...new Set(list)].sort()));
}

export class Firewall {
  readonly filter: string;
  readonly isolation1: string;
  readonly isolation2: string;
  readonly nat: string;
  readonly postrouting: string;
  private nftBackend = false;

  constructor(
    prefix: string,
    private readonly userlandProxy: boolean,
  ) {
    this.filter = prefix;
    this.isolation1 = `${prefix}-ISOLATION`;
    this.isolation2 = `${prefix}-ISOLATION2`;
    this.nat = prefix;
    this.postrouting = `${prefix}-POSTROUTING`;
  }

  private iptables(table: Table, args: string[]): Promise<string> {
    return run('iptables', ['-w', '-t', table, ...args]);
  }

  /** One iptables-restore run (each table commits atomically; one process for the batch). */
  private restore(lines: Array<[Table, string]>): Promise<string> {
    const text = (['filter', 'nat'] as const)
      .map((t) => {
        const own = lines.filter(([table]) => table === t).map(([, line]) => line);
        return own.length ? `*${t}\n${own.join('\n')}\nCOMMIT\n` : '';
      })
      .join('');
    return text ? run('iptables-restore', ['-w', '--noflush'], text) : Promise.resolve('');
  }

  /** The jumps from built-in chains into ours. */
  private jumps(): Rule[] {
    return [
      { table: 'filter', chain: 'FORWARD', args: ['-j', this.filter] },
      { table: 'nat', chain: 'PREROUTING', args: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', this.nat] },
      {
        table: 'nat',
        chain: 'OUTPUT',
        // With the proxy, loopback connections reach it; without, the kernel rewrites them too.
        args: [
          ...(this.userlandProxy ? ['!', '-d', '127.0.0.0/8'] : []),
          '-m',
          'addrtype',
          '--dst-type',
          'LOCAL',
          '-j',
          this.nat,
        ],
      },
      { table: 'nat', chain: 'POSTROUTING', args: ['-j', this.postrouting] },
    ];
  }

  private ownChains(): Array<[Table, string]> {
    return [
      ['filter', this.filter],
      ['filter', this.isolation1],
      ['filter', this.isolation2],
      ['nat', this.nat],
      ['nat', this.postrouting],
    ];
  }

  /** Makes our chains and jumps afresh (whatever an earlier run left is removed first). */
  async init(): Promise<void> {
    this.nftBackend = (await run('iptables', ['--version'])).includes('nf_tables');
    await withHostLock(LOCK, async () => {
      if (this.nftBackend) await this.recordBuiltins().catch(() => {});
      const lines = await this.removalLines();
      for (const [table, chain] of this.ownChains()) lines.push([table, `:${chain} - [0:0]`]);
      lines.push(['filter', `-A ${this.filter} -j ${this.isolation1}`]);
      for (const jump of this.jumps()) {
        const verb = jump.chain === 'FORWARD' ? `-I ${jump.chain} 1` : `-A ${jump.chain}`;
        lines.push([jump.table, `${verb} ${jump.args.join(' ')}`]);
      }
      await this.restore(lines);
    });
  }

  /** Notes which built-in chains and tables do not exist yet, i.e. which ones we will create. */
  private async recordBuiltins(): Promise<void> {
    const ruleset = await nftRuleset();
    const tables = new Set(ruleset.filter((o) => o.table).map((o) => o.table!.name));
    const chains = new Set(ruleset.filter((o) => o.chain).map((o) => `${o.chain!.table}/${o.chain!.name}`));
    const created = await readCreated();
    for (const t of ['filter', 'nat']) if (!tables.has(t)) created.push(`table:${t}`);
    for (const [t, c] of BUILTIN) if (!chains.has(`${t}/${c}`)) created.push(`chain:${t}/${c}`);
    await writeCreated(created);
  }

  /** Restore lines that delete every jump into our chains, then the chains (from iptables-save). */
  private async removalLines(): Promise<Array<[Table, string]>> {
    const own = new Set(this.ownChains().map(([t, c]) => `${t}/${c}`));
    const lines: Array<[Table, string]> = [];
    const chains: Array<[Table, string]> = [];
    for (const table of ['filter', 'nat'] as const) {
      const saved = await run('iptables-save', ['-t', table]).catch(() => '');
      for (const line of saved.split('\n')) {
        const declared = /^:(\S+) /.exec(line)?.[1];
        if (declared && own.has(`${table}/${declared}`)) chains.push([table, declared]);
        const rule = /^-A (\S+)(?: .*)? -j (\S+)$/.exec(line);
        if (rule && !own.has(`${table}/${rule[1]}`) && own.has(`${table}/${rule[2]}`))
          lines.push([table, line.replace(/^-A /, '-D ')]);
      }
    }
    for (const [table, chain] of chains) lines.push([table, `-F ${chain}`]);
    for (const [table, chain] of chains) lines.push([table, `-X ${chain}`]);
    return lines;
  }

  /** Adds rules in order; all or nothing. */
  async add(rules: Rule[]): Promise<void> {
    try {
      await this.restore(rules.map((r) => [r.table, `-A ${r.chain} ${r.args.join(' ')}`]));
    } catch (err) {
      await this.remove(rules).catch(() => {});
      throw err;
    }
  }

  /** Removes rules; ones already gone are fine. */
  async remove(rules: Rule[]): Promise<void> {
    if (rules.length === 0) return;
    try {
      await this.restore([...rules].reverse().map((r) => [r.table, `-D ${r.chain} ${r.args.join(' ')}`]));
    } catch {
      // Some were gone already: one by one, ignoring those.
      for (const rule of [...rules].reverse()) {
        await this.iptables(rule.table, ['-D', rule.chain, ...rule.args]).catch((err) => {
          if (!isGone(err)) throw err;
        });
      }
    }
  }

  /** Removes our jumps and chains, then the built-in chains and tables we made, once empty. */
  async teardown(): Promise<void> {
    await withHostLock(LOCK, async () => {
      await this.restore(await this.removalLines());
      if (this.nftBackend) await this.pruneBuiltins().catch(() => {});
    });
  }

  private async pruneBuiltins(): Promise<void> {
    const created = await readCreated();
    const ruleset = await nftRuleset();
    const keep: string[] = [];
    for (const entry of created.filter((e) => e.startsWith('chain:'))) {
      const [table, chain] = entry.slice('chain:'.length).split('/') as [string, string];
      const info = ruleset.find((o) => o.chain && o.chain.table === table && o.chain.name === chain)?.chain;
      if (!info) continue;
      const hasRules = ruleset.some((o) => o.rule && o.rule.table === table && o.rule.chain === chain);
      if (hasRules || (info.policy && info.policy !== 'accept')) {
        keep.push(entry);
        continue;
      }
      // nft refuses to delete a chain that still has rules, so a concurrent user is safe.
      await run('nft', ['delete', 'chain', 'ip', table, chain]).catch(() => keep.push(entry));
    }
    const after = await nftRuleset();
    for (const entry of created.filter((e) => e.startsWith('table:'))) {
      const table = entry.slice('table:'.length);
      if (!after.some((o) => o.table?.name === table)) continue;
      const inUse = after.some(
        (o) => (o.chain && o.chain.table === table) || (o.rule && o.rule.table === table),
      );
      if (inUse) {
        keep.push(entry);
        continue;
      }
      await run('nft', ['delete', 'table', 'ip', table]).catch(() => keep.push(entry));
    }
    await writeCreated(keep);
  }
}

/** The rules of one bridge network. */
export function networkRules(fw: Firewall, bridge: string, subnet: string, internal: boolean): Rule[] {
  const rules: Rule[] = [
    { table: 'filter', chain: fw.isolation1, args: ['-i', bridge, '!', '-o', bridge, '-j', fw.isolation2] },
    { table: 'filter', chain: fw.isolation2, args: ['-o', bridge, '-j', 'DROP'] },
  ];
  if (internal) {
    rules.push(
      { table: 'filter', chain: fw.isolation1, args: ['-i', bridge, '!', '-d', subnet, '-j', 'DROP'] },
      { table: 'filter', chain: fw.isolation1, args: ['-o', bridge, '!', '-s', subnet, '-j', 'DROP'] },
    );
  }
  rules.push(
    {
      table: 'filter',
      chain: fw.filter,
      args: ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    },
    { table: 'filter', chain: fw.filter, args: ['-i', bridge, '-o', bridge, '-j', 'ACCEPT'] },
    { table: 'nat', chain: fw.nat, args: ['-i', bridge, '-j', 'RETURN'] },
  );
  if (!internal) {
    rules.push(
      { table: 'filter', chain: fw.filter, args: ['-i', bridge, '!', '-o', bridge, '-j', 'ACCEPT'] },
      { table: 'nat', chain: fw.postrouting, args: ['-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE'] },
    );
  }
  return rules;
}

/** DNAT and forwarding for one published port. Loopback host addresses are the proxy's alone. */
export function portRules(
  fw: Firewall,
  bridge: string,
  m: { protocol: string; hostIp: string; hostPort: number; containerIp: string; containerPort: number },
  userlandProxy: boolean,
): Rule[] {
  const loopback = m.hostIp.startsWith('127.');
  if (loopback && userlandProxy) return [];
  const dst = m.hostIp === '0.0.0.0' ? [] : ['-d', `${m.hostIp}/32`];
  const rules: Rule[] = [
    {
      table: 'nat',
      chain: fw.nat,
      // From the container's own bridge the proxy answers (hairpin), as with docker-proxy.
      args: [
        ...(userlandProxy ? ['!', '-i', bridge] : []),
        ...dst,
        '-p',
        m.protocol,
        '--dport',
        String(m.hostPort),
        '-j',
        'DNAT',
        '--to-destination',
        `${m.containerIp}:${m.containerPort}`,
      ],
    },
    {
      table: 'filter',
      chain: fw.filter,
      args: [
        '-d',
        `${m.containerIp}/32`,
        '!',
        '-i',
        bridge,
        '-o',
        bridge,
        '-p',
        m.protocol,
        '--dport',
        String(m.containerPort),
        '-j',
        'ACCEPT',
      ],
    },
  ];
  if (!userlandProxy && loopback) {
    rules.push({
      table: 'nat',
      chain: fw.postrouting,
      args: ['-s', '127.0.0.0/8', '-o', bridge, '-j', 'MASQUERADE'],
    });
  }
  return rules;
}
