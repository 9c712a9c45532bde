/**
 * Sizes as the docker CLI prints them: go-units `HumanSizeWithPrecision(size, 3)` (`2.14MB`,
 * `1e+03kB`), which is Go's `%.3g` on the size scaled to decimal units.
 */

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;

/** The exact decimal digits of a finite non-negative double, and where the point goes. */
function exactDigits(value: number): { digits: string; pointAt: number } {
  // toFixed is exact for |x| < 1e21; a double >= 1 has at most 52 fraction digits.
  const fixed = value < 1e21 ? value.toFixed(100) : BigInt(value).toString();
  const [intPart = '', fracPart = ''] = fixed.split('.');
  const all = intPart + fracPart;
  const firstNonZero = all.search(/[1-9]/);
  if (firstNonZero === -1) return { digits: '', pointAt: 0 };
  return { digits: all.slice(firstNonZero).replace(/0+$/, ''), pointAt: intPart.length - firstNonZero };
}

/** Rounds to `precision` significant digits, half-to-even on exact ties like Go's ftoa. */
function roundDigits(
  digits: string,
  pointAt: number,
  precision: number,
): { digits: string; pointAt: number } {
  if (digits.length <= precision) return { digits, pointAt };
  const kept = digits.slice(0, precision);
  const rest = digits.slice(precision);
  const first = rest[0] as string;
  const tie = rest === '5';
  const lastKept = Number(kept[kept.length - 1] ?? '0');
  const roundUp = first > '5' || (first === '5' && !tie) || (tie && lastKept % 2 === 1);
  if (!roundUp) return { digits: kept.replace(/0+$/, ''), pointAt };
  const bumped = (BigInt(kept) + 1n).toString();
  if (bumped.length > kept.length) return { digits: bumped.replace(/0+$/, ''), pointAt: pointAt + 1 };
  return { digits: bumped.replace(/0+$/, ''), pointAt };
}

/** Go's `fmt.Sprintf("%.*g", precision, value)`. */
export function formatGoG(value: number, precision: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const prec = Math.max(precision, 1);
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const exact = exactDigits(Math.abs(value));
  if (exact.digits === '') return `${sign}0`;
  const { digits, pointAt } = roundDigits(exact.digits, exact.pointAt, prec);
  const nd = digits.length;
  let eprec = prec;
  if (eprec > nd && nd >= pointAt) eprec = nd;
  const exp = pointAt - 1;
  if (exp < -4 || exp >= eprec) {
    const shown = Math.min(prec, nd);
    const mantissa = shown > 1 ? `${digits[0]}.${digits.slice(1, shown)}` : (digits[0] as string);
    const expSign = exp < 0 ? '-' : '+';
    return `${sign}${mantissa}e${expSign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const fracDigits = Math.max((prec > pointAt ? nd : prec) - pointAt, 0);
  let intPart: string;
  let fracPart: string;
  if (pointAt <= 0) {
    intPart = '0';
    fracPart = '0'.repeat(-pointAt) + digits;
  } else {
    intPart = digits.slice(0, pointAt).padEnd(pointAt, '0');
    fracPart = digits.slice(pointAt);
  }
  fracPart = fracPart.slice(0, fracDigits).padEnd(fracDigits, '0');
  return `${sign}${intPart}${fracDigits > 0 ? `.${fracPart}` : ''}`;
}

/** go-units `HumanSizeWithPrecision`. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${formatGoG(value, precision)}${DECIMAL_UNITS[unit]}`;
}

/** The SIZE column of `images`/`ps -s`. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 3);
}
