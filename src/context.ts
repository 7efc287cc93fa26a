/**
 * What every view of the panel shares: its settings, the controller the commands talk
 * through, the JupyterLab services it uses, and the message of an error.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IThemeManager } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { TranslationBundle } from '@jupyterlab/translation';

import { ApiError } from './api';
import { ISession } from './format';

export const STATE_KEY = 'lawless-jupyter:panel';

export interface IPanelSettings {
  enterToSend: boolean;
  showThinking: boolean;
  diffAgainst: 'base' | 'head';
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  enterToSend: true,
  showThinking: true,
  diffAgainst: 'base'
};

type Listener = () => void;

/** What a command asks of the panel (newSession, send, stop, openChanges, refresh;
 * openSession and sessionsChanged from the attempts view) or what the panel tells the
 * commands (settings, running, sessionOpen, sessions: the list was read, so main-area
 * chats of deleted sessions close). */
export type PanelEvent =
  | 'newSession'
  | 'send'
  | 'stop'
  | 'openChanges'
  | 'settings'
  | 'running'
  | 'sessionOpen'
  | 'openSession'
  | 'sessionsChanged'
  | 'refresh'
  | 'sessions';

/** What the commands ask of the panel, and what they need to know about it. */
export class PanelController {
  settings: IPanelSettings = { ...DEFAULT_SETTINGS };
  running = false;
  /** Whether a session is open in the panel (its Changes can be shown). */
  sessionOpen = false;
  /** What an `openSession` event asks the panel to show (the attempts view sends it). */
  openRequest: { id: string; tab: Tab } | null = null;
  /** The sessions as last listed (null: not yet). */
  sessions: ISession[] | null = null;
  private listeners: { [name: string]: Set<Listener> } = {};

  on(name: PanelEvent, fn: Listener): () => void {
    (this.listeners[name] ??= new Set()).add(fn);
    return () => this.listeners[name].delete(fn);
  }

  emit(name: PanelEvent): void {
    this.listeners[name]?.forEach(fn => fn());
  }

  /** Show a session in the panel, on the given tab. */
  openSession(id: string, tab: Tab = 'chat'): void {
    this.openRequest = { id, tab };
    this.emit('openSession');
  }
}

export interface IPanelContext {
  app: JupyterFrontEnd;
  /** The extension's strings in the person's language (views: `useTrans()`). */
  trans: TranslationBundle;
  rendermime: IRenderMimeRegistry;
  browser: IDefaultFileBrowser | null;
  state: IStateDB | null;
  controller: PanelController;
  /** The lab's editors (for nbdime's diff editors); open documents (live documents). */
  editorServices?: IEditorServices | null;
  docManager?: IDocumentManager | null;
  /** The lab's notebooks (the active one and its selected cells can be attached). */
  notebooks?: INotebookTracker | null;
  /** For the lab's terminal settings (a remote session's terminal looks the same). */
  settingRegistry?: ISettingRegistry | null;
  /** The lab theme's changes (a remote session's terminal follows them). */
  themeManager?: IThemeManager | null;
}

export const message = (error: unknown): string =>
  error instanceof ApiError
    ? error.message
    : error instanceof Error
      ? error.message
      : String(error);

export type Tab = 'chat' | 'changes' | 'terminal' | 'connections';
