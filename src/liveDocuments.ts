/**
 * Live documents: when Claude changes a file that is open in JupyterLab, the open document
 * shows the change. A collaborative document (jupyter-collaboration) needs nothing from
 * here: Claude's notebook tools change its shared model on the server, and the server reads
 * other changes of its file back into it; a revert would race that. Without a collaborative
 * document server, this is the fallback: a clean document is reverted to what is on disk; a
 * dirty one keeps the person's edits and they are told (with a way to reload). After a turn,
 * every clean open document of the worktree whose file changed on disk is reverted too
 * (edits made by shell commands have no tool event that names the file).
 *
 * The lab's side (document manager, notifications) comes in through `IOpenDocuments`, so
 * the decisions here are plain and tested by jest.
 */
import { IChatEvent } from './sse';

/** Tools that change one file, and the field of their input that names it. */
const FILE_TOOLS: { [tool: string]: string[] } = {
  Write: ['file_path'],
  Edit: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path', 'file_path'],
  mcp__jupyter__edit_cell: ['path'],
  mcp__jupyter__insert_cell: ['path'],
  mcp__jupyter__delete_cell: ['path'],
  mcp__jupyter__move_cell: ['path'],
  mcp__jupyter__run_cell: ['path']
};

/** `a/./b/../c` -> `a/c` (null when it climbs above its start). */
function normalize(path: string): string | null {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..') {
      if (parts.length === 0) {
        return null;
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/**
 * The file a tool call changed, relative to the worktree; null when the tool changes no
 * file or names one outside the worktree. Built-in tools give absolute paths, the notebook
 * tools paths relative to the worktree.
 */
export function changedFile(
  tool: string,
  input: { [key: string]: unknown } | null | undefined,
  worktreePath: string
): string | null {
  const fields = FILE_TOOLS[tool];
  const value = fields
    ?.map(field => input?.[field])
    .find(v => typeof v === 'string' && v !== '');
  return typeof value === 'string' ? inWorktree(value, worktreePath) : null;
}

/**
 * A path a tool named, relative to the worktree: absolute ones must lie inside it,
 * relative ones are taken as relative to it; null outside it (or for `..` above it).
 */
export function inWorktree(value: string, worktreePath: string): string | null {
  const top = normalize(worktreePath);
  if (value.startsWith('/')) {
    const full = normalize(value);
    if (top === null || full === null || !full.startsWith(top + '/')) {
      return null;
    }
    return full.slice(top.length + 1);
  }
  const relative = normalize(value);
  return relative ? relative : null;
}

/** A worktree-relative path as the lab's documents name it (relative to Jupyter's root). */
export function labPath(
  relative: string,
  worktreeDir: string | null
): string | null {
  return worktreeDir === null
    ? null
    : worktreeDir
      ? `${worktreeDir}/${relative}`
      : relative;
}

/** An open document, as far as live documents need it. */
export interface IOpenDocument {
  path: string;
  dirty: boolean;
  /** A shared document of jupyter-collaboration: the server keeps it current. */
  collaborative: boolean;
  /** The file's modification time when the document last read or saved it. */
  lastModified: string | null;
  revert: () => Promise<void>;
}

/** What the lab offers (see liveDocumentsLab.ts). */
export interface IOpenDocuments {
  find: (path: string) => IOpenDocument | null;
  /** Every open document. */
  all: () => IOpenDocument[];
  /** The file's modification time on disk now (null: gone or unreadable). */
  modifiedOnDisk: (path: string) => Promise<string | null>;
  /** Say that Claude changed `path` while the person's copy has unsaved edits. */
  notifyDirty: (path: string, reload: () => Promise<void>) => void;
}

/** What to do with an open document whose file Claude changed. */
export const decide = (
  document: IOpenDocument
): 'nothing' | 'revert' | 'notify' =>
  document.collaborative ? 'nothing' : document.dirty ? 'notify' : 'revert';

/** Follows one session's chat events and keeps its open documents current. */
export class LiveDocuments {
  private tools = new Map<string, { name: string; input: any }>();

  constructor(
    private readonly docs: IOpenDocuments,
    private readonly worktreePath: string,
    private readonly worktreeDir: string | null
  ) {}

  /** Feed every chat event; resolves once the documents it touched are handled. */
  async onEvent(event: IChatEvent): Promise<void> {
    if (event.type === 'tool_use' && event.id) {
      this.tools.set(String(event.id), {
        name: String(event.name ?? ''),
        input: event.input
      });
    } else if (event.type === 'tool_result' && !event.is_error) {
      const call = this.tools.get(String(event.tool_use_id));
      const relative =
        call && changedFile(call.name, call.input, this.worktreePath);
      const path = relative && labPath(relative, this.worktreeDir);
      if (path) {
        await this.changed(path);
      }
    } else if (event.type === 'done') {
      this.tools.clear();
      await this.afterTurn();
    }
  }

  /** Claude changed `path`: revert it when clean, tell the person when dirty. */
  async changed(path: string): Promise<void> {
    const document = this.docs.find(path);
    if (!document) {
      return;
    }
    const action = decide(document);
    if (action === 'revert') {
      await document.revert();
    } else if (action === 'notify') {
      this.docs.notifyDirty(path, () => document.revert());
    }
  }

  /** After a turn: clean documents of the worktree whose file changed on disk (not
   * collaborative ones: the server reads their file back into them). */
  async afterTurn(): Promise<void> {
    if (this.worktreeDir === null) {
      return;
    }
    const prefix = this.worktreeDir ? `${this.worktreeDir}/` : '';
    const mine = this.docs
      .all()
      .filter(d => d.path.startsWith(prefix) && decide(d) === 'revert');
    await Promise.all(
      mine.map(async document => {
        const onDisk = await this.docs.modifiedOnDisk(document.path);
        if (onDisk !== null && onDisk !== document.lastModified) {
          await document.revert();
        }
      })
    );
  }
}
