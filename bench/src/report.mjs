/**
 * The printed table (case, tsdocker median, reference median, ratio, target, met), the timing
 * model tables, and the JSON result file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PHASES } from './cases/timing-model.mjs';
import { formatBytes, formatMs } from './stats.mjs';

/** @typedef {import('./cases/context.mjs').Row} Row */

/** @param {number | null} v @param {Row['unit']} unit */
function formatValue(v, unit) {
  if (v === null || !Number.isFinite(v)) return '—';
  if (unit === 'ms') return formatMs(v);
  if (unit === 'bytes') return formatBytes(v);
  if (unit === 'rate') return `${v.toFixed(1)}/s`;
  return String(v);
}

/** @param {string[][]} rows @param {('l' | 'r')[]} align */
export function renderTable(rows, align) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (/** @type {string} */ s, /** @type {number} */ i) => {
    const fill = ' '.repeat(widths[i] - [...s].length);
    return align[i] === 'r' ? fill + s : s + fill;
  };
  const lines = rows.map((r) =>
    r
      .map((c, i) => pad(c ?? '', i))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

/** @param {Row[]} rows @param {boolean} haveReference */
export function resultsTable(rows, haveReference) {
  const out = [['case', 'tsdocker', 'reference', 'ratio', 'target', 'met']];
  for (const r of rows) {
    let ref = formatValue(r.ref, r.unit);
    if (r.ref !== null && r.refName !== 'dockerd') ref += ` (${r.refName})`;
    if (r.ref === null && !haveReference && r.refName === 'dockerd') ref = 'no dockerd';
    const ratio =
      r.ratio === null ? '—' : r.unit === 'rate' ? `${r.ratio.toFixed(2)}× rate` : r.ratio.toFixed(2);
    const target = r.targetText ?? (r.target === null ? 'info' : `≤ ${r.target}`);
    const met = r.met === null ? (r.target === null && !r.targetText ? '' : 'n/a') : r.met ? 'yes' : 'NO';
    out.push([r.label, r.tsd === null ? 'n/a' : formatValue(r.tsd, r.unit), ref, ratio, target, met]);
  }
  return renderTable(out, ['l', 'r', 'r', 'r', 'l', 'l']);
}

/** @param {Row[]} rows */
export function notes(rows) {
  return rows
    .filter((r) => r.note)
    .map((r) => `- ${r.label}: ${r.note}`)
    .join('\n');
}

/**
 * @param {any} model  ctx.shared.timingModel
 */
export function timingTables(model) {
  if (!model) return '';
  const { tsd, ref, direct } = model;
  const phaseRows = PHASES.map(([key, label]) => ({
    key,
    label,
    tsd: tsd.phases[key],
    ref: ref?.phases[key] ?? null,
  }));
  phaseRows.sort((a, b) => b.tsd - a.tsd);
  const t1 = [['phase (biggest tsdocker part first)', 'tsdocker', 'dockerd', 'difference']];
  for (const p of phaseRows)
    t1.push([
      p.label,
      formatMs(p.tsd),
      p.ref === null ? '—' : formatMs(p.ref),
      p.ref === null ? '—' : formatMs(p.tsd - p.ref),
    ]);
  t1.push([
    'total (wall, through the proxy)',
    formatMs(tsd.phases.total),
    ref ? formatMs(ref.phases.total) : '—',
    ref ? formatMs(tsd.phases.total - ref.phases.total) : '—',
  ]);
  const v = direct.variants;
  const names = Object.keys(v);
  const all = v[names[0]];
  const noNet = v[names[1]];
  const mntOnly = v[names[2]];
  const t2 = [
    ['step', 'median'],
    [`driver.start → started, ${names[0]}`, formatMs(all.start)],
    [`driver.start → started, ${names[1]}`, formatMs(noNet.start)],
    [`driver.start → started, ${names[2]}`, formatMs(mntOnly.start)],
    ['  ⇒ network namespace (difference)', formatMs(all.start - noNet.start)],
    ['  ⇒ pid + ipc + uts namespaces (difference)', formatMs(noNet.start - mntOnly.start)],
    ['spawn tsd-shim at all (`tsd-shim version`)', formatMs(direct.shimSpawn)],
    [`cgroup mkdir + rmdir in ${direct.hierarchies} hierarchies`, formatMs(direct.cgroupMkdir)],
    ['started → exit reported (`true` runs, shim reports)', formatMs(all.runExit)],
    ['driver.cleanup (kill leftovers, cgroups, state dir)', formatMs(all.cleanup)],
  ];
  return [
    `Timing model: docker run --rm busybox true (medians of ${tsd.runs.length} runs through a recording proxy)`,
    renderTable(t1, ['l', 'r', 'r', 'r']),
    '',
    "Inside tsdocker's start, measured directly (native exec driver from a spec, no daemon)",
    renderTable(t2, ['l', 'r']),
  ].join('\n');
}

/** @param {string} path @param {unknown} data */
export function writeJson(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}
