/**
 * The lab's side of live documents (liveDocuments.ts): open documents through the
 * document manager, the notice through JupyterLab's notifications.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';

import { IOpenDocument, IOpenDocuments } from './liveDocuments';

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
  docManager: IDocumentManager
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
        `Claude changed ${path} on disk, and your copy has unsaved edits: saving it now would overwrite Claude's change.`,
        {
          autoClose: false,
          actions: [
            {
              label: 'Reload from disk',
              caption:
                'Drop your unsaved edits and show the file as Claude left it',
              callback: () => void reload()
            }
          ]
        }
      );
    }
  };
}
