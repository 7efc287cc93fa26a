/**
 * A session notebook's changes, cell by cell, in a main-area tab: nbdime's own diff model
 * and widget (the Jupyter standard) over what `GET .../git/notebook-diff` answers, with the
 * app's rendermime registry for outputs. Toggles hide outputs, metadata, unchanged cells.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { CodeEditor } from '@jupyterlab/codeeditor';
import * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';
import { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

import { api } from './api';
import { untranslated } from './translation';

/** What `GET .../git/notebook-diff` answers. */
export interface INotebookDiff {
  path: string;
  status: 'added' | 'modified' | 'deleted';
  against: 'base' | 'head';
  commit: string | null;
  base: nbformat.INotebookContent;
  diff: IDiffEntry[];
}

/** The toggles: each hides a part of the diff by a class on the tab's content. */
export const hideToggles = (trans: TranslationBundle = untranslated) => [
  {
    label: trans.__('Hide outputs'),
    className: 'jp-lawless-nbdiff-hideOutputs'
  },
  {
    label: trans.__('Hide metadata'),
    className: 'jp-lawless-nbdiff-hideMetadata'
  },
  {
    label: trans.__('Hide unchanged cells'),
    className: 'jp-lawless-nbdiff-hideUnchanged'
  }
];

/** The tab's id: one tab per session, notebook and comparison, reused when opened again. */
export const notebookDiffId = (
  sessionId: string,
  path: string,
  against: string
): string =>
  `jp-lawless-nbdiff-${sessionId}-${against}-${encodeURIComponent(path)}`;

function toggleBar(content: Widget, trans: TranslationBundle): Widget {
  const bar = new Widget();
  bar.addClass('jp-lawless-nbdiff-toggles');
  for (const toggle of hideToggles(trans)) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.addEventListener('change', () =>
      content.toggleClass(toggle.className, box.checked)
    );
    label.append(box, ` ${toggle.label}`);
    bar.node.appendChild(label);
  }
  return bar;
}

async function diffWidget(
  answer: INotebookDiff,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle,
  editorFactory?: CodeEditor.Factory
): Promise<Widget> {
  if (answer.diff.length === 0) {
    const empty = new Widget();
    empty.node.textContent = trans.__('No differences.');
    return empty;
  }
  const model = new NotebookDiffModel(answer.base, answer.diff);
  const widget = new NotebookDiffWidget({ model, rendermime, editorFactory });
  await widget.init();
  return widget;
}

/**
 * Open (or bring back, refreshed) the tab showing `path`'s notebook diff in the session.
 */
export async function openNotebookDiff(options: {
  app: JupyterFrontEnd;
  rendermime: IRenderMimeRegistry;
  editorFactory?: CodeEditor.Factory;
  sessionId: string;
  sessionLabel: string;
  path: string;
  against: 'base' | 'head';
  trans?: TranslationBundle;
}): Promise<MainAreaWidget> {
  const { app, sessionId, path, against } = options;
  const trans = options.trans ?? untranslated;
  const answer: INotebookDiff = await api.notebookDiff(
    sessionId,
    path,
    against
  );
  const diff = await diffWidget(
    answer,
    options.rendermime,
    trans,
    options.editorFactory
  );
  const id = notebookDiffId(sessionId, path, against);
  const existing = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (existing instanceof MainAreaWidget) {
    const content = existing.content as Panel;
    content.widgets[1]?.dispose(); // the previous diff; the toggles stay
    content.addWidget(diff);
    app.shell.activateById(id);
    return existing;
  }
  const content = new Panel();
  content.addClass('jp-lawless-nbdiff');
  content.addWidget(toggleBar(content, trans));
  content.addWidget(diff);
  const main = new MainAreaWidget({ content });
  main.id = id;
  const name = path.split('/').pop() ?? path;
  main.title.label = trans.__('Diff: %1', name);
  main.title.caption =
    against === 'head'
      ? trans.__(
          '%1 (%2) in %3, against the last commit',
          path,
          answer.status,
          options.sessionLabel
        )
      : trans.__(
          '%1 (%2) in %3, against the base',
          path,
          answer.status,
          options.sessionLabel
        );
  main.title.closable = true;
  app.shell.add(main, 'main');
  app.shell.activateById(id);
  return main;
}
