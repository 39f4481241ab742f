import type { DesiredState } from '../domain/component.js';
import type { ComponentChange, KeyChange, Plan } from '../domain/plan.js';
import { isSecretKey, maskMetadata, maskValue, MASK, printable, stringifyPrintable, truncate } from '../domain/masking.js';

/**
 * How a plan reads for people (`diff`, `apply --dry-run`) and for machines (`--output json`).
 * Every value goes through secret masking; every key, id and value the releases control is
 * made printable (no ESC sequence or newline reaches the terminal) and cut to a sane length;
 * every text ends with a newline.
 */

const ANSI = { green: '\u001b[32m', yellow: '\u001b[33m', red: '\u001b[31m', dim: '\u001b[2m', bold: '\u001b[1m', reset: '\u001b[0m' };
type Colour = keyof typeof ANSI;

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly unchanged: number;
  readonly remove: number;
}

export function summarizePlan(plan: Plan): PlanSummary {
  const count = (action: ComponentChange['action']): number => plan.changes.filter((c) => c.action === action).length;
  return { create: count('create'), update: count('update'), unchanged: count('unchanged'), remove: count('remove') };
}

/** Quoted so that empty values and surrounding spaces are visible; a mask is shown bare. */
function shown(key: string, value: string | undefined): string {
  if (value === undefined) return '';
  return isSecretKey(key) ? MASK : printable(JSON.stringify(truncate(maskValue(key, value))), Infinity);
}

function keyLine(change: KeyChange): { colour: Colour; text: string } {
  switch (change.change) {
    case 'added':
      return { colour: 'green', text: `+ ${printable(change.key)}: ${shown(change.key, change.after)}` };
    case 'removed':
      return { colour: 'red', text: `- ${printable(change.key)}: ${shown(change.key, change.before)}` };
    case 'changed':
      return { colour: 'yellow', text: `~ ${printable(change.key)}: ${shown(change.key, change.before)} → ${shown(change.key, change.after)}` };
  }
}

function header(change: ComponentChange, pushed: boolean): { colour: Colour; text: string } | undefined {
  switch (change.action) {
    case 'create':
      return { colour: 'green', text: `+ ${printable(change.id)} (create)` };
    case 'update':
      return { colour: 'yellow', text: `~ ${printable(change.id)} (update)` };
    case 'remove':
      return { colour: 'red', text: `- ${printable(change.id)} (removed: Layotto cannot unload it; it keeps its last configuration and is not pushed)` };
    case 'unchanged':
      return pushed ? { colour: 'dim', text: `= ${printable(change.id)} (unchanged, pushed anyway)` } : undefined;
  }
}

export function formatPlanText(plan: Plan, options: { color: boolean }): string {
  const paint = (colour: Colour, text: string): string => (options.color ? `${ANSI[colour]}${text}${ANSI.reset}` : text);
  const pushed = new Set(plan.push.map((component) => component.id));
  const lines: string[] = [];
  for (const change of plan.changes) {
    const head = header(change, pushed.has(change.id));
    if (!head) continue;
    lines.push(paint(head.colour, head.text));
    for (const key of change.keys) {
      const line = keyLine(key);
      lines.push(`    ${paint(line.colour, line.text)}`);
    }
  }
  const summary = summarizePlan(plan);
  if (lines.length > 0) lines.push('');
  else lines.push('No changes.');
  lines.push(
    paint('bold', `${summary.create} to create, ${summary.update} to update, ${summary.unchanged} unchanged, ${summary.remove} removed`),
  );
  return `${lines.join('\n')}\n`;
}

function maskedKeyChange(change: KeyChange): KeyChange {
  return {
    key: change.key,
    change: change.change,
    ...(change.before !== undefined ? { before: maskValue(change.key, change.before) } : {}),
    ...(change.after !== undefined ? { after: maskValue(change.key, change.after) } : {}),
  };
}

/** Stable JSON (components in id order, keys in key order, fixed field order), secrets masked. */
export function planToJson(plan: Plan): string {
  const body = {
    summary: summarizePlan(plan),
    changes: plan.changes.map((change) => ({
      id: change.id,
      kind: change.kind,
      name: change.name,
      action: change.action,
      keys: change.keys.map(maskedKeyChange),
    })),
    push: plan.push.map((component) => component.id),
  };
  return `${stringifyPrintable(body, 2)}\n`;
}

/** What `render` prints: the desired set as ComponentConfigs in id order. */
export function formatComponentsJson(desired: DesiredState, options: { showSecrets: boolean }): string {
  const components = [...desired.components.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((component) => ({
      kind: component.kind,
      name: component.name,
      metadata: options.showSecrets ? { ...component.metadata } : maskMetadata(component.metadata),
    }));
  return `${stringifyPrintable(components, 2)}\n`;
}
