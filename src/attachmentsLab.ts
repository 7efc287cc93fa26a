/**
 * What the lab offers to attach to a message: the active notebook, its selected cells
 * (sources and outputs as text), every other open file, and a worktree file by path.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { cellsName, cellsText, IAttachment, notebookText } from './attachments';

export interface IAttachChoice {
  label: string;
  load: () => Promise<IAttachment>;
}

/** A path as the person knows it: relative to the session's worktree when inside it. */
function shown(path: string, worktreeDir: string | null): string {
  const prefix = worktreeDir ? `${worktreeDir}/` : null;
  return prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

export function attachChoices(
  app: JupyterFrontEnd,
  docManager: IDocumentManager | null | undefined,
  notebooks: INotebookTracker | null | undefined,
  worktreeDir: string | null,
  trans: TranslationBundle
): IAttachChoice[] {
  const choices: IAttachChoice[] = [];
  const panel = notebooks?.currentWidget;
  const model = panel?.content.model;
  if (panel && model) {
    const name = shown(panel.context.path, worktreeDir);
    const selected = panel.content.widgets
      .map((cell, index) => ({ cell, index }))
      .filter(({ cell }) => panel.content.isSelectedOrActive(cell));
    const indices = selected.map(s => s.index);
    choices.push({
      label: trans._n(
        'Selected cell of %2',
        'Selected cells of %2',
        indices.length,
        name
      ),
      load: async () => ({
        name: cellsName(name, indices),
        text: cellsText(
          selected.map(({ cell, index }) => ({
            cell: cell.model.toJSON(),
            index
          }))
        )
      })
    });
    choices.push({
      label: trans.__('Notebook %1', name),
      load: async () => ({ name, text: notebookText(model.toJSON() as any) })
    });
  }
  if (docManager) {
    const seen = new Set(panel ? [panel.context.path] : []);
    for (const widget of app.shell.widgets('main')) {
      const context = docManager.contextForWidget(widget);
      if (!context || seen.has(context.path)) {
        continue;
      }
      seen.add(context.path);
      const name = shown(context.path, worktreeDir);
      choices.push({
        label: trans.__('File %1', name),
        load: async () => ({
          name,
          text: context.path.endsWith('.ipynb')
            ? notebookText(context.model.toJSON() as any)
            : context.model.toString()
        })
      });
    }
  }
  return choices;
}

/** A worktree file, read through Jupyter's contents API (as it is on disk). */
export async function worktreeFile(
  docManager: IDocumentManager,
  worktreeDir: string,
  path: string
): Promise<IAttachment> {
  const full = worktreeDir ? `${worktreeDir}/${path}` : path;
  if (path.endsWith('.ipynb')) {
    const model = await docManager.services.contents.get(full, {
      type: 'notebook',
      content: true
    });
    return { name: path, text: notebookText(model.content) };
  }
  const model = await docManager.services.contents.get(full, {
    type: 'file',
    format: 'text',
    content: true
  });
  return { name: path, text: String(model.content ?? '') };
}
