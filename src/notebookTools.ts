/**
 * Claude's `jupyter` tools (`mcp__jupyter__<tool>`, `lawless_jupyter/notebooks/tools.py`)
 * as a person reads them on a tool card: what it does, on which notebook and cell, and the
 * code or cell source it carries. Plain functions, tested with jest.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

export const JUPYTER_PREFIX = 'mcp__jupyter__';
/** The one "Always allow" rule for code in the session's kernel (execute and run_cell). */
export const KERNEL_RULE = 'mcp__jupyter__execute';

export interface IJupyterTool {
  /** e.g. "Run code", "Run cell" */
  label: string;
  /** one line: the notebook and cell, or the code's first line */
  summary: string;
  /** the code or cell source, shown whole in the card (null: none) */
  code: string | null;
}

const labels = (trans: TranslationBundle): Record<string, string> => ({
  execute: trans.__('Run code'),
  run_cell: trans.__('Run cell'),
  read_notebook: trans.__('Read notebook'),
  edit_cell: trans.__('Edit cell'),
  insert_cell: trans.__('Insert cell'),
  delete_cell: trans.__('Delete cell'),
  move_cell: trans.__('Move cell')
});

function cellName(
  input: Record<string, any>,
  trans: TranslationBundle
): string {
  if (typeof input.cell_id === 'string') {
    return trans.__('cell %1', input.cell_id);
  }
  return trans.__(
    'cell %1',
    typeof input.index === 'number' ? input.index : '?'
  );
}

function oneLine(text: string): string {
  const first = text.split('\n').find(line => line.trim()) ?? '';
  const more = text.trim().includes('\n') ? ' …' : '';
  const line = first.trim() + more;
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** A `jupyter` tool call as a card shows it, or null for any other tool. */
export function jupyterTool(
  name: string,
  input: Record<string, any> | null | undefined,
  trans: TranslationBundle = untranslated
): IJupyterTool | null {
  if (!name.startsWith(JUPYTER_PREFIX)) {
    return null;
  }
  const tool = name.slice(JUPYTER_PREFIX.length);
  const args = input ?? {};
  const path = typeof args.path === 'string' ? args.path : '';
  const source = typeof args.source === 'string' ? args.source : null;
  let summary = path;
  let code: string | null = null;
  switch (tool) {
    case 'execute':
      code = typeof args.code === 'string' ? args.code : '';
      summary = oneLine(code);
      break;
    case 'run_cell':
    case 'delete_cell':
      summary = `${path} · ${cellName(args, trans)}`;
      break;
    case 'edit_cell':
      summary = `${path} · ${cellName(args, trans)}`;
      code = source;
      break;
    case 'insert_cell':
      summary = `${path} · ${trans.__('new %1 cell at %2', args.cell_type ?? 'code', args.index)}`;
      code = source;
      break;
    case 'move_cell':
      summary = `${path} · ${trans.__('cell %1 → %2', args.from, args.to)}`;
      break;
    default:
      break;
  }
  return { label: labels(trans)[tool] ?? tool, summary, code };
}

/** Images a tool result carried (`images` of a `tool_result`), only the kinds shown. */
export function resultImages(
  images: any
): { mediaType: string; data: string }[] {
  if (!Array.isArray(images)) {
    return [];
  }
  return images
    .filter(
      image =>
        image &&
        (image.media_type === 'image/png' ||
          image.media_type === 'image/jpeg') &&
        typeof image.data === 'string' &&
        /^[A-Za-z0-9+/=\s]*$/.test(image.data)
    )
    .map(image => ({ mediaType: image.media_type, data: image.data }));
}
