/**
 * lawless-jupyter: the JupyterLab side. A left sidebar panel for workspace sessions, their
 * streamed Claude chat, changes and terminals; commands in the palette; a few settings.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';

import { setupChatTabs } from './chatTabs';
import { lawlessIcon } from './icon';
import { DEFAULT_SETTINGS, LawlessPanel, PanelController } from './panel';
import { NEW_SESSION_HERE, setupSessionHere } from './sessionHere';
import { workersPlugin } from './statusbar';

const PLUGIN_ID = 'lawless-jupyter:plugin';

/** The panel's commands; their keyboard shortcuts are in schema/plugin.json. */
export namespace CommandIDs {
  export const open = 'lawless:open';
  export const newSession = 'lawless:new-session';
  export const send = 'lawless:send';
  export const stop = 'lawless:stop';
  export const openChanges = 'lawless:open-changes';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Workspace sessions with a coding agent: chat, changes, terminals.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [
    ICommandPalette,
    IDefaultFileBrowser,
    IStateDB,
    ISettingRegistry,
    ILayoutRestorer,
    IEditorServices,
    IDocumentManager,
    INotebookTracker,
    ILauncher
  ],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    state: IStateDB | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    editorServices: IEditorServices | null,
    docManager: IDocumentManager | null,
    notebooks: INotebookTracker | null,
    launcher: ILauncher | null
  ) => {
    const controller = new PanelController();
    const ctx = {
      app,
      rendermime,
      browser,
      state,
      controller,
      editorServices,
      docManager,
      notebooks
    };
    const panel = new LawlessPanel(ctx);
    panel.id = 'jp-lawless-panel';
    panel.title.icon = lawlessIcon;
    panel.title.caption = 'Lawless: workspace sessions with Claude';
    panel.node.setAttribute('role', 'region');
    panel.node.setAttribute('aria-label', 'Lawless workspace sessions');
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'lawless-jupyter');

    setupChatTabs(app, ctx, restorer);
    setupSessionHere(app, ctx, launcher);

    const reveal = () => app.shell.activateById(panel.id);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Lawless Panel',
      caption: 'Workspace sessions with Claude',
      icon: lawlessIcon,
      execute: reveal
    });
    app.commands.addCommand(CommandIDs.newSession, {
      label: 'New Lawless Session',
      caption: 'Start a workspace session on its own git worktree',
      execute: () => {
        reveal();
        controller.emit('newSession');
      }
    });
    app.commands.addCommand(CommandIDs.send, {
      label: 'Send the Message to Claude',
      caption: "Send what is written in the open session's chat",
      execute: () => controller.emit('send')
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: 'Stop the Running Claude Turn',
      isEnabled: () => controller.running,
      execute: () => controller.emit('stop')
    });
    app.commands.addCommand(CommandIDs.openChanges, {
      label: "Open the Session's Changes",
      caption: 'What the open session changed: commit, merge, push',
      isEnabled: () => controller.sessionOpen,
      execute: () => {
        reveal();
        controller.emit('openChanges');
      }
    });
    controller.on('running', () =>
      app.commands.notifyCommandChanged(CommandIDs.stop)
    );
    controller.on('sessionOpen', () =>
      app.commands.notifyCommandChanged(CommandIDs.openChanges)
    );

    if (palette) {
      for (const command of [...Object.values(CommandIDs), NEW_SESSION_HERE]) {
        palette.addItem({ command, category: 'Lawless' });
      }
    }

    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const update = () => {
            controller.settings = {
              ...DEFAULT_SETTINGS,
              ...(settings.composite as any)
            };
            controller.emit('settings');
          };
          settings.changed.connect(update);
          update();
        })
        .catch(reason =>
          console.warn('lawless-jupyter: settings failed to load', reason)
        );
    }
  }
};

export default [plugin, workersPlugin];
