/**
 * What the bench must leave as it found it on the host: networking (iptables rules and policies,
 * links, forwarding sysctls) and the few host paths dockerd/containerd write outside their roots
 * (/etc/docker/key.json, /run/containerd/s for shim sockets). Both daemons run in network
 * namespaces of their own, so the networking part should never change; the bench still records
 * it before, compares after, undoes what dockerd is known to leave (a docker0 link, DOCKER chains,
 * a FORWARD DROP policy) and verifies again.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { haveCommand, runSync } from './commands.mjs';

/** Host paths dockerd 20.10 / containerd 1.6 may create outside the roots the bench gives them. */
const HOST_PATHS = [
  '/etc/docker/key.json',
  '/run/containerd/s',
  '/run/containerd',
  '/run/docker',
  '/var/run/docker.sock',
];

const SYSCTLS = [
  '/proc/sys/net/ipv4/ip_forward',
  '/proc/sys/net/bridge/bridge-nf-call-iptables',
  '/proc/sys/net/bridge/bridge-nf-call-ip6tables',
];

/**
 * @typedef {object} HostSnapshot
 * @property {Record<string, string>} iptables  `iptables[-t table] -S` output per table
 * @property {string[]} links     link names
 * @property {Record<string, string>} sysctls
 * @property {Record<string, boolean>} paths  which of HOST_PATHS existed
 */

function iptablesSave() {
  /** @type {Record<string, string>} */
  const out = {};
  for (const tool of ['iptables', 'ip6tables']) {
    if (!haveCommand(tool)) continue;
    for (const table of ['filter', 'nat']) {
      const r = runSync(tool, ['-w', '-t', table, '-S']);
      out[`${tool} -t ${table}`] = r.code === 0 ? r.stdout : `(error: ${r.stderr.trim()})`;
    }
  }
  return out;
}

function linkNames() {
  const r = runSync('ip', ['-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .map((l) => l.match(/^\d+: ([^:@]+)/)?.[1])
    .filter((n) => n !== undefined)
    .sort();
}

/** @returns {HostSnapshot} */
export function snapshotHost() {
  /** @type {Record<string, string>} */
  const sysctls = {};
  for (const f of SYSCTLS) if (existsSync(f)) sysctls[f] = readFileSync(f, 'utf8').trim();
  /** @type {Record<string, boolean>} */
  const paths = {};
  for (const p of HOST_PATHS) paths[p] = existsSync(p);
  return { iptables: iptablesSave(), links: linkNames(), sysctls, paths };
}

/** @param {HostSnapshot} before @param {HostSnapshot} after @returns {string[]} differences */
export function diffHost(before, after) {
  const out = [];
  for (const [key, text] of Object.entries(before.iptables)) {
    if (after.iptables[key] !== text) {
      const a = new Set(text.split('\n'));
      const b = new Set((after.iptables[key] ?? '').split('\n'));
      const added = [...b].filter((l) => l && !a.has(l));
      const removed = [...a].filter((l) => l && !b.has(l));
      out.push(`${key}: +[${added.join(' | ')}] -[${removed.join(' | ')}]`);
    }
  }
  const newLinks = after.links.filter((l) => !before.links.includes(l));
  const goneLinks = before.links.filter((l) => !after.links.includes(l));
  if (newLinks.length) out.push(`new links: ${newLinks.join(', ')}`);
  if (goneLinks.length) out.push(`links gone: ${goneLinks.join(', ')}`);
  for (const [f, v] of Object.entries(before.sysctls))
    if (after.sysctls[f] !== v) out.push(`${f}: ${v} → ${after.sysctls[f]}`);
  for (const [p, existed] of Object.entries(before.paths))
    if (after.paths[p] !== existed) out.push(`${p}: ${existed ? 'removed' : 'created'}`);
  return out;
}

/**
 * Undoes what dockerd is known to leave behind when it ran on the host's namespace, and what it
 * writes outside its roots; touches only things that were not there before the run.
 * @param {HostSnapshot} before
 * @returns {string[]} what was undone
 */
export function restoreHost(before) {
  const done = [];
  const now = snapshotHost();
  for (const tool of ['iptables', 'ip6tables']) {
    const key = `${tool} -t filter`;
    const policy = before.iptables[key]?.match(/^-P FORWARD (\w+)$/m)?.[1];
    const nowPolicy = now.iptables[key]?.match(/^-P FORWARD (\w+)$/m)?.[1];
    if (policy && nowPolicy && policy !== nowPolicy) {
      runSync(tool, ['-w', '-P', 'FORWARD', policy]);
      done.push(`${tool} FORWARD policy ${nowPolicy} → ${policy}`);
    }
    for (const table of ['filter', 'nat']) {
      const beforeText = before.iptables[`${tool} -t ${table}`] ?? '';
      const nowText = now.iptables[`${tool} -t ${table}`] ?? '';
      // Jumps into new DOCKER* chains first, then the chains themselves.
      for (const rule of nowText.split('\n')) {
        if (!rule.startsWith('-A ') || beforeText.includes(rule) || !/ -j DOCKER|^-A DOCKER/.test(rule))
          continue;
        runSync(tool, ['-w', '-t', table, ...splitRule(rule.replace(/^-A /, '-D '))]);
        done.push(`${tool} -t ${table}: removed ${rule}`);
      }
      for (const m of nowText.matchAll(/^-N (DOCKER\S*)$/gm)) {
        if (beforeText.includes(`-N ${m[1]}\n`) || beforeText.endsWith(`-N ${m[1]}`)) continue;
        runSync(tool, ['-w', '-t', table, '-F', m[1]]);
        runSync(tool, ['-w', '-t', table, '-X', m[1]]);
        done.push(`${tool} -t ${table}: removed chain ${m[1]}`);
      }
    }
  }
  if (now.links.includes('docker0') && !before.links.includes('docker0')) {
    runSync('ip', ['link', 'del', 'docker0']);
    done.push('removed link docker0');
  }
  for (const [f, v] of Object.entries(before.sysctls)) {
    if (now.sysctls[f] !== undefined && now.sysctls[f] !== v) {
      runSync('sh', ['-c', `echo ${v} > ${f}`]);
      done.push(`${f} → ${v}`);
    }
  }
  if (!before.paths['/etc/docker/key.json'] && existsSync('/etc/docker/key.json')) {
    rmSync('/etc/docker/key.json', { force: true });
    done.push('removed /etc/docker/key.json (written by dockerd)');
  }
  for (const dir of ['/run/containerd/s', '/run/containerd']) {
    if (!before.paths[dir] && existsSync(dir) && readdirSync(dir).length === 0) {
      rmdirSync(dir);
      done.push(`removed empty ${dir} (made by containerd-shim)`);
    }
  }
  return done;
}

/** iptables -S prints rules shell-quoted; split on spaces outside double quotes. @param {string} rule */
function splitRule(rule) {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}
