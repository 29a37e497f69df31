/** Text tables of the bench's console report: number formats and column layout, shared by every group. */

/** Whole numbers with thousands separators. */
export const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
/** One decimal. */
export const dec = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
/** Two decimals. */
export const dec2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** One table row: the first column left-aligned, the others right-aligned, to `widths`. */
export function row(cols: string[], widths: number[]): string {
  return cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}
