/**
 * Opening a file named in the chat or in Changes: JupyterLab's default widget for it (the
 * editor, or the notebook) through `docmanager:open`, with the cursor on the line when one
 * is known.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { CodeEditor } from '@jupyterlab/codeeditor';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import {
  IFileLink,
  IWorktree,
  lineOf,
  toolFileLink,
  worktreeLink
} from './fileLinks';

/** The code editor of a document widget, when it has one (a file editor does). */
function editorOf(widget: Widget | undefined): CodeEditor.IEditor | null {
  const content = (widget as any)?.content;
  return content?.editor &&
    typeof content.editor.setCursorPosition === 'function'
    ? (content.editor as CodeEditor.IEditor)
    : null;
}

export async function openFile(
  app: JupyterFrontEnd,
  link: IFileLink
): Promise<void> {
  const widget = (await app.commands.execute('docmanager:open', {
    path: link.path
  })) as Widget | undefined;
  const context = (widget as any)?.context;
  await context?.ready;
  const editor = editorOf(widget);
  // an edit's line: where its text is in the document just opened (read from disk)
  const at = link.find
    ? lineOf(editor?.model.sharedModel.getSource() ?? '', link.find)
    : link.line;
  if (editor && at !== null) {
    const line = Math.min(at, editor.lineCount) - 1;
    const position = { line: Math.max(0, line), column: 0 };
    editor.setCursorPosition(position);
    editor.revealPosition(position);
    editor.focus();
  }
}

/** What the chat's cards need to link the files they name. */
export interface IFileOpener {
  /** The file a tool call names, as a link (null: none, or outside the worktree). */
  link: (
    tool: string,
    input: { [key: string]: unknown } | null | undefined
  ) => IFileLink | null;
  /** A worktree-relative path as a link (Changes). */
  relative: (path: string) => IFileLink | null;
  open: (link: IFileLink) => void;
}

export function fileOpener(
  app: JupyterFrontEnd,
  session: IWorktree,
  onError: (message: string) => void,
  trans: TranslationBundle
): IFileOpener {
  return {
    link: (tool, input) => toolFileLink(tool, input, session),
    relative: path => worktreeLink(path, session),
    open: link =>
      void openFile(app, link).catch(e =>
        onError(trans.__('Could not open %1: %2', link.path, e?.message ?? e))
      )
  };
}
