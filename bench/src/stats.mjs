/** Summary figures of a sample (milliseconds, bytes, anything numeric). */

/**
 * @typedef {object} Summary
 * @property {number} n
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} p25
 * @property {number} p75
 */

/** @param {number[]} sorted @param {number} q */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** @param {number[]} values @returns {Summary} */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
  };
}

/** @param {number[]} values */
export const median = (values) => summarize(values).median;

/** Milliseconds as a short human figure: 0.8 ms, 42 ms, 2.91 s. @param {number} ms @returns {string} */
export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return `−${formatMs(-ms)}`;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** Bytes as MiB with one decimal. @param {number} bytes */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '—';
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
