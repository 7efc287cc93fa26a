/**
 * lawless-jupyter: the JupyterLab side. A left sidebar panel for workspace sessions, their
 * streamed Claude chat, changes and terminals; commands in the palette; a few settings.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  MainAreaWidget
} from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator } from '@jupyterlab/translation';

import { setupChatTabs } from './chatTabs';
import { AttemptsWidget } from './components/AttemptsView';
import { addOpenDiffCommand, OPEN_DIFF } from './diffTab/open';
import { lawlessIcon } from './icon';
import { DEFAULT_SETTINGS, LawlessPanel, PanelController } from './panel';
import { setupRemoteTerminals } from './remoteTerminalTabs';
import { NEW_SESSION_HERE, setupSessionHere } from './sessionHere';
import { workersPlugin } from './statusbar';
import { setErrorTranslation } from './errors';
import { loadTrans } from './translation';

const PLUGIN_ID = 'lawless-jupyter:plugin';

/** The panel's commands; their keyboard shortcuts are in schema/plugin.json. */
export namespace CommandIDs {
  export const open = 'lawless:open';
  export const newSession = 'lawless:new-session';
  export const send = 'lawless:send';
  export const stop = 'lawless:stop';
  export const openChanges = 'lawless:open-changes';
  export const openAttempts = 'lawless:open-attempts';
  /** `{session, against?}`: a session's diff in a main-area tab (not in the palette). */
  export const openDiff = OPEN_DIFF;
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
    IThemeManager,
    IEditorLanguageRegistry,
    ILauncher,
    ITranslator
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
    themeManager: IThemeManager | null,
    languages: IEditorLanguageRegistry | null,
    launcher: ILauncher | null,
    translator: ITranslator | null
  ) => {
    const trans = loadTrans(translator);
    setErrorTranslation(trans); // the API client's messages
    const controller = new PanelController();
    const ctx = {
      app,
      trans,
      rendermime,
      browser,
      state,
      controller,
      editorServices,
      docManager,
      notebooks,
      settingRegistry,
      themeManager
    };
    const panel = new LawlessPanel(ctx);
    panel.id = 'jp-lawless-panel';
    panel.title.icon = lawlessIcon;
    panel.title.caption = trans.__('Lawless: workspace sessions with Claude');
    panel.node.setAttribute('role', 'region');
    panel.node.setAttribute(
      'aria-label',
      trans.__('Lawless workspace sessions')
    );
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'lawless-jupyter');

    setupChatTabs(app, ctx, restorer);
    setupSessionHere(app, ctx, launcher);
    setupRemoteTerminals(app, ctx, restorer);

    const reveal = () => app.shell.activateById(panel.id);

    // the main-area diff tab (also what other views open: Changes, attempts)
    addOpenDiffCommand({
      app,
      rendermime,
      editorServices,
      languages,
      restorer,
      trans
    });

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open the Lawless Panel'),
      caption: trans.__('Workspace sessions with Claude'),
      icon: lawlessIcon,
      execute: reveal
    });
    app.commands.addCommand(CommandIDs.newSession, {
      label: trans.__('New Lawless Session'),
      caption: trans.__('Start a workspace session on its own git worktree'),
      execute: () => {
        reveal();
        controller.emit('newSession');
      }
    });
    const attemptViews = new Map<string, MainAreaWidget<AttemptsWidget>>();
    app.commands.addCommand(CommandIDs.openAttempts, {
      label: trans.__('Open Lawless Attempts'),
      caption: trans.__('The sessions of one attempt side by side'),
      execute: args => {
        const id = args.id as string | undefined;
        if (!id) {
          return;
        }
        let view = attemptViews.get(id);
        if (!view || view.isDisposed) {
          const content = new AttemptsWidget(id, controller, reveal, trans);
          view = new MainAreaWidget({ content });
          view.id = `jp-lawless-attempts-${id}`;
          view.title.label = trans.__('Attempts');
          view.title.icon = lawlessIcon;
          view.title.closable = true;
          attemptViews.set(id, view);
          app.shell.add(view, 'main');
        }
        app.shell.activateById(view.id);
      }
    });
    app.commands.addCommand(CommandIDs.send, {
      label: trans.__('Send the Message to Claude'),
      caption: trans.__("Send what is written in the open session's chat"),
      execute: () => controller.emit('send')
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop the Running Claude Turn'),
      isEnabled: () => controller.running,
      execute: () => controller.emit('stop')
    });
    app.commands.addCommand(CommandIDs.openChanges, {
      label: trans.__("Open the Session's Changes"),
      caption: trans.__('What the open session changed: commit, merge, push'),
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
        if (
          command === CommandIDs.openAttempts || // needs an attempt id
          command === CommandIDs.openDiff // needs a session
        ) {
          continue;
        }
        palette.addItem({ command, category: trans.__('Lawless') });
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
