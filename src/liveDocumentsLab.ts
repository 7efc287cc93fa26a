/**
 * The lab's side of live documents (liveDocuments.ts): open documents through the
 * document manager, the notice through JupyterLab's notifications.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';

import { TranslationBundle } from '@jupyterlab/translation';

import { IOpenDocument, IOpenDocuments } from './liveDocuments';
import { untranslated } from './translation';

function wrap(context: DocumentRegistry.Context): IOpenDocument {
  return {
    path: context.path,
    dirty: context.model.dirty,
    // a shared model of jupyter-collaboration's drive (false with the lab's own drive)
    collaborative: context.model.collaborative ?? false,
    lastModified: context.contentsModel?.last_modified ?? null,
    revert: () => context.revert()
  };
}

export function labDocuments(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  trans: TranslationBundle = untranslated
): IOpenDocuments {
  return {
    find: path => {
      const widget = docManager.findWidget(path);
      const context = widget && docManager.contextForWidget(widget);
      return context ? wrap(context) : null;
    },
    all: () => {
      const open = new Map<string, IOpenDocument>();
      for (const widget of app.shell.widgets('main')) {
        const context = docManager.contextForWidget(widget);
        if (context && !open.has(context.path)) {
          open.set(context.path, wrap(context));
        }
      }
      return [...open.values()];
    },
    modifiedOnDisk: async path => {
      try {
        const model = await docManager.services.contents.get(path, {
          content: false
        });
        return model.last_modified ?? null;
      } catch {
        return null;
      }
    },
    notifyDirty: (path, reload) => {
      Notification.warning(
        trans.__(
          "Claude changed %1 on disk, and your copy has unsaved edits: saving it now would overwrite Claude's change.",
          path
        ),
        {
          autoClose: false,
          actions: [
            {
              label: trans.__('Reload from disk'),
              caption: trans.__(
                'Drop your unsaved edits and show the file as Claude left it'
              ),
              callback: () => void reload()
            }
          ]
        }
      );
    }
  };
}
