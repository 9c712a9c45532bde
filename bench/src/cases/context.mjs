/**
 * What every case gets, and what it gives back: rows for the table (medians of both daemons in
 * the same run, the ratio tsdocker / reference, the target) plus raw samples for the JSON file.
 */

/**
 * @typedef {object} BenchContext
 * @property {import('../options.mjs').BenchOptions} opts
 * @property {import('../daemons/tsdocker-daemon.mjs').TsdockerDaemon} tsd
 * @property {import('../daemons/reference-daemon.mjs').ReferenceDaemon | null} ref
 * @property {string} root               the run's temp dir
 * @property {{ rootfs: string, tarPath: string }} busybox
 * @property {(msg: string) => void} log
 * @property {Record<string, unknown>} shared  state handed from one case to the next
 */

/**
 * @typedef {object} Row
 * @property {string} id          case id (`run`, `load-vs-tar`, …)
 * @property {string} label       what the row measures
 * @property {'ms' | 'bytes' | 'rate' | 'text'} unit
 * @property {number | null} tsd  tsdocker's median
 * @property {number | null} ref  the reference's median (same run)
 * @property {string} refName     `dockerd` or `tar -x`
 * @property {number | null} ratio  tsd / ref
 * @property {number | null} target the ratio to stay at or below; null: informational
 * @property {string} [targetText]  when the target is not a ratio (stress)
 * @property {boolean | null} met
 * @property {string} [note]
 * @property {unknown} [detail]   raw samples and the like, for the JSON file
 */

/**
 * A row from two medians; the ratio and verdict follow.
 * @param {Omit<Row, 'ratio' | 'met' | 'refName'> & { refName?: string }} r
 * @returns {Row}
 */
export function ratioRow(r) {
  const ratio = r.tsd !== null && r.ref !== null && r.ref > 0 ? r.tsd / r.ref : null;
  const met = ratio !== null && r.target !== null ? ratio <= r.target : null;
  return { refName: 'dockerd', ...r, ratio, met };
}

/**
 * How a floor's note ends: whether `target` is below the floor's `ratio` (the same words for
 * every case that measures one).
 * @param {number} target @param {number} ratio
 */
export function floorVerdict(target, ratio) {
  return target < ratio
    ? `: the target ${target} is below that floor`
    : ` (the target ${target} is not below it)`;
}

/**
 * A row for a case that could not be measured on tsdocker or at all.
 * @param {string} id @param {string} label @param {string} why @param {number | null} [target]
 * @returns {Row}
 */
export function unavailableRow(id, label, why, target = null) {
  return {
    id,
    label,
    unit: 'text',
    tsd: null,
    ref: null,
    refName: 'dockerd',
    ratio: null,
    target,
    met: null,
    note: why,
  };
}
