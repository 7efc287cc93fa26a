/**
 * Files named in the chat and in Changes, as links into JupyterLab: which file a tool call
 * (or an approval) names, at which line when known, as the lab's path (relative to
 * Jupyter's root). Paths outside the worktree, or a worktree outside the root, are no
 * links. Plain functions, tested with jest; the opening itself is in openFile.ts.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { inWorktree, labPath } from './liveDocuments';
import { JUPYTER_PREFIX } from './notebookTools';
import { untranslated } from './translation';

/** A file to open: the lab's path, and the 1-based line to put the cursor on. */
export interface IFileLink {
  path: string;
  line: number | null;
  /** How the chat shows it: relative to the worktree. */
  label: string;
  /**
   * Text whose line to open at, the first found wins (an Edit's `new_string`, then its
   * `old_string`): only the file's text at the click says where the change is now.
   */
  find?: string[];
}

/** Built-in tools that name one file, and the input fields that may name it. */
const FILE_TOOLS: { [tool: string]: string[] } = {
  Read: ['file_path'],
  Edit: ['file_path'],
  Write: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path', 'file_path']
};

/** Where in the session the lab finds its worktree. */
export interface IWorktree {
  worktree_path: string;
  worktree_dir: string | null;
}

/** A worktree-relative path as a link (null when the worktree is outside the root). */
export function worktreeLink(
  relative: string,
  session: IWorktree,
  line: number | null = null
): IFileLink | null {
  const path = labPath(relative, session.worktree_dir);
  return path === null ? null : { path, line, label: relative };
}

/**
 * The file a tool call names, as a link: built-in tools give absolute paths, the jupyter
 * tools `path` relative to the worktree. A Read with `offset` opens at that line.
 */
export function toolFileLink(
  tool: string,
  input: { [key: string]: unknown } | null | undefined,
  session: IWorktree
): IFileLink | null {
  const fields = tool.startsWith(JUPYTER_PREFIX)
    ? ['path']
    : (FILE_TOOLS[tool] ?? []);
  const value = fields
    .map(field => input?.[field])
    .find(v => typeof v === 'string' && v !== '');
  if (typeof value !== 'string') {
    return null;
  }
  const relative = inWorktree(value, session.worktree_path);
  if (relative === null) {
    return null;
  }
  const offset = input?.offset;
  const line =
    tool === 'Read' && typeof offset === 'number' && offset >= 1
      ? Math.floor(offset)
      : null;
  const link = worktreeLink(relative, session, line);
  const find = editedText(tool, input);
  return link && find.length ? { ...link, find } : link;
}

/** What an Edit (a MultiEdit's first edit) put in the file, then what it replaced. */
function editedText(
  tool: string,
  input: { [key: string]: unknown } | null | undefined
): string[] {
  const edit =
    tool === 'Edit'
      ? input
      : tool === 'MultiEdit' && Array.isArray(input?.edits)
        ? (input.edits[0] as { [key: string]: unknown } | undefined)
        : null;
  return [edit?.new_string, edit?.old_string].filter(
    (s): s is string => typeof s === 'string' && s.trim() !== ''
  );
}

/**
 * The 1-based line where the first of `candidates` found in `text` starts; 1 when none is
 * (the edit was undone or the file changed since).
 */
export function lineOf(text: string, candidates: string[]): number {
  for (const candidate of candidates) {
    const at = text.indexOf(candidate);
    if (at >= 0) {
      return text.slice(0, at).split('\n').length;
    }
  }
  return 1;
}

/** Why the file browser cannot show the session's worktree; null when it can. */
export function worktreeProblem(
  session: {
    worker?: string;
    worktree_dir: string | null;
  },
  trans: TranslationBundle = untranslated
): string | null {
  if (session.worker && session.worker !== 'local') {
    return trans.__(
      'This session runs on the worker “%1”: its worktree is on that machine, not in this file browser. Use its Terminal.',
      session.worker
    );
  }
  if (session.worktree_dir === null) {
    return trans.__(
      "This session's worktree is outside Jupyter's root folder, so the file browser cannot open it."
    );
  }
  return null;
}
