/** The bench's output: one row per figure for people, everything measured for machines. */
import { writeFile } from 'node:fs/promises';

export interface Row {
  readonly figure: string;
  readonly measured: string;
  readonly target: string;
  /** Undefined for a row that only informs. */
  readonly pass: boolean | undefined;
}

function verdict(pass: boolean | undefined): string {
  return pass === undefined ? '—' : pass ? 'pass' : 'MISS';
}

/** A plain-text table whose columns fit their widest cell. */
export function formatTable(rows: readonly Row[]): string {
  const cells = [['figure', 'measured', 'target', 'pass/miss'], ...rows.map((row) => [row.figure, row.measured, row.target, verdict(row.pass)])];
  const widths = [0, 1, 2, 3].map((column) => Math.max(...cells.map((line) => (line[column] ?? '').length)));
  const render = (line: readonly string[]): string => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ');
  const [head, ...body] = cells;
  return [render(head ?? []), widths.map((width) => '-'.repeat(width)).join('-|-'), ...body.map(render)].join('\n');
}

/** The same rows as a Markdown table, for docs/benchmarks.md. */
export function formatMarkdown(rows: readonly Row[]): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  return [
    '| figure | measured | target | pass/miss |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${escape(row.figure)} | ${escape(row.measured)} | ${escape(row.target)} | ${verdict(row.pass)} |`),
  ].join('\n');
}

export async function writeResults(path: string, results: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}
