/**
 * What the person attaches to a message (the active notebook, its selected cells, an open
 * file, an @-mentioned worktree file), as the `{name, text}` the chat route takes. Plain
 * functions over nbformat JSON, so they are tested by jest; the lab side is in
 * attachmentsLab.ts.
 */

export interface IAttachment {
  name: string;
  text: string;
}

/** The server's limit (chat/attachments.py). */
export const MAX_ATTACHMENTS = 10;

type MultiLine = string | string[] | undefined;

const joined = (value: MultiLine): string =>
  Array.isArray(value) ? value.join('') : (value ?? '');

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** One output as text: streams, text/plain results, errors (images are named, not sent). */
export function outputText(output: { [key: string]: any }): string {
  switch (output.output_type) {
    case 'stream':
      return joined(output.text);
    case 'execute_result':
    case 'display_data': {
      const data = output.data ?? {};
      if (data['text/plain'] !== undefined) {
        return joined(data['text/plain']);
      }
      const kinds = Object.keys(data);
      return kinds.length ? `[${kinds.join(', ')}]` : '';
    }
    case 'error':
      return (
        (output.traceback ?? []).join('\n').replace(ANSI, '') ||
        `${output.ename}: ${output.evalue}`
      );
    default:
      return '';
  }
}

/** One cell (nbformat JSON) as text: its source and, for code, its outputs. */
export function cellText(cell: { [key: string]: any }, index: number): string {
  const count =
    cell.cell_type === 'code' ? (cell.execution_count ?? ' ') : null;
  const head =
    count === null
      ? `# Cell ${index + 1} (${cell.cell_type})`
      : `# Cell ${index + 1} [${count}]`;
  const parts = [head, joined(cell.source)];
  const outputs = (cell.outputs ?? [])
    .map((output: { [key: string]: any }) =>
      outputText(output).replace(/\n$/, '')
    )
    .filter((t: string) => t);
  if (outputs.length) {
    parts.push('# Output', outputs.join('\n'));
  }
  return parts.join('\n');
}

/** Cells, with their positions in the notebook, as one text. */
export function cellsText(
  cells: { cell: { [key: string]: any }; index: number }[]
): string {
  return cells.map(({ cell, index }) => cellText(cell, index)).join('\n\n');
}

/** `analysis.ipynb: cell 3` / `analysis.ipynb: cells 2, 4` (positions from 1). */
export function cellsName(path: string, indices: number[]): string {
  const shown = indices.map(i => i + 1).join(', ');
  return `${path}: cell${indices.length === 1 ? '' : 's'} ${shown}`;
}

/** A whole notebook (nbformat JSON) as text. */
export function notebookText(notebook: { cells?: any[] }): string {
  return cellsText(
    (notebook.cells ?? []).map((cell, index) => ({ cell, index }))
  );
}

/** Add an attachment: one per name (the newer replaces it), at most MAX_ATTACHMENTS. */
export function withAttachment(
  list: IAttachment[],
  added: IAttachment
): IAttachment[] {
  const rest = list.filter(a => a.name !== added.name);
  return [...rest, added].slice(-MAX_ATTACHMENTS);
}

/** The word being typed after an `@` at the caret (null: not mentioning a file). */
export function mentionAt(draft: string, caret: number): string | null {
  const before = draft.slice(0, caret);
  const match = /(^|\s)@([^\s@]*)$/.exec(before);
  return match ? match[2] : null;
}

/** The draft with the `@word` at the caret taken out (the chip stands for it). */
export function dropMention(
  draft: string,
  caret: number
): { draft: string; caret: number } {
  const before = draft.slice(0, caret);
  const match = /(^|\s)@([^\s@]*)$/.exec(before);
  if (!match) {
    return { draft, caret };
  }
  const start = before.length - match[2].length - 1;
  return { draft: draft.slice(0, start) + draft.slice(caret), caret: start };
}

/** Files matching what follows the `@`: those whose name starts with it first. */
export function matchFiles(
  files: string[],
  query: string,
  limit = 8
): string[] {
  const q = query.toLowerCase();
  const name = (f: string) => f.slice(f.lastIndexOf('/') + 1).toLowerCase();
  const starts = files.filter(f => name(f).startsWith(q));
  const contains = files.filter(
    f => !name(f).startsWith(q) && f.toLowerCase().includes(q)
  );
  return [...starts, ...contains].slice(0, limit);
}
