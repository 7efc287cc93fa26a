/**
 * The `lawless:open-diff {session, against?}` command: one main-area diff tab per session
 * and comparison, brought forward (and re-read) when opened again, and put back on reload
 * by the layout restorer (a WidgetTracker remembers each tab's command arguments).
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';

import { api } from '../api';
import { sessionLabel } from '../format';
import { openNotebookDiff } from '../notebookDiff';
import { diffTabId } from './model';
import { DiffTabContent } from './widget';

export const OPEN_DIFF = 'lawless:open-diff';

export interface IOpenDiffArgs {
  session: string;
  against?: 'base' | 'head';
  /** A file to scroll to (expanded). */
  path?: string;
}

export function addOpenDiffCommand(options: {
  app: JupyterFrontEnd;
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices | null;
  languages: IEditorLanguageRegistry | null;
  restorer: ILayoutRestorer | null;
  trans: TranslationBundle;
}): void {
  const { app, trans } = options;
  const tracker = new WidgetTracker<MainAreaWidget<DiffTabContent>>({
    namespace: 'lawless-diff'
  });
  const argsOf = new WeakMap<MainAreaWidget, IOpenDiffArgs>();

  app.commands.addCommand(OPEN_DIFF, {
    label: trans.__("Open the Session's Diff"),
    caption: trans.__(
      'Every changed file of a session, side by side or unified'
    ),
    execute: async args => {
      const session = String(args.session ?? '');
      const against = args.against === 'head' ? 'head' : 'base';
      const path = typeof args.path === 'string' ? args.path : null;
      if (!session) {
        throw new Error(`${OPEN_DIFF} needs a 'session' id.`);
      }
      const id = diffTabId(session, against);
      const open = tracker.find(w => w.id === id);
      if (open) {
        app.shell.activateById(id);
        await open.content.refresh();
        open.content.reveal(path);
        return open;
      }
      let label = session.slice(0, 8);
      const content = new DiffTabContent({
        sessionId: session,
        against,
        languages: options.languages,
        trans,
        openNotebook: path =>
          void openNotebookDiff({
            app,
            rendermime: options.rendermime,
            editorFactory:
              options.editorServices?.factoryService.newInlineEditor,
            sessionId: session,
            sessionLabel: label,
            path,
            against,
            trans
          })
      });
      const main = new MainAreaWidget({ content });
      main.id = id;
      main.title.closable = true;
      const setTitle = () => {
        main.title.label = trans.__('Diff: %1', label);
        main.title.caption =
          against === 'head'
            ? trans.__('What %1 changed, against its last commit', label)
            : trans.__('What %1 changed, against its base', label);
      };
      setTitle();
      argsOf.set(main, { session, against });
      app.shell.add(main, 'main');
      app.shell.activateById(id);
      void tracker.add(main);
      void api
        .getSession(session)
        .then(answer => {
          label = sessionLabel(answer.session);
          setTitle();
        })
        .catch(() => undefined); // the id stays the label
      await content.refresh();
      content.reveal(path);
      return main;
    }
  });

  void options.restorer?.restore(tracker, {
    command: OPEN_DIFF,
    args: widget => ({ ...(argsOf.get(widget) as any) }),
    name: widget => widget.id
  });
}
