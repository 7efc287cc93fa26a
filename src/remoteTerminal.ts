/**
 * Terminals of a session on a remote worker, as main-area tabs: JupyterLab's own `Terminal`
 * widget (xterm.js, with the person's terminal settings: font, theme, scrollback) on a
 * connection through the session's terminal bridge (`terminalBridge.ts`). This server's
 * own terminal of the same name is never opened: it would be another terminal, on another
 * machine.
 */
import { IThemeManager, MainAreaWidget } from '@jupyterlab/apputils';
import { TerminalManager } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { TranslationBundle } from '@jupyterlab/translation';
import { ITerminal, Terminal } from '@jupyterlab/terminal';
import { terminalIcon } from '@jupyterlab/ui-components';

import { sessionTerminalManager } from './terminalBridge';

/** The lab's terminal settings (font, theme, scrollback...): ours look the same. */
export const TERMINAL_SETTINGS = '@jupyterlab/terminal-extension:plugin';

/** The open tabs of each remote session; its manager lives while it has one. */
const open = new Map<string, Set<MainAreaWidget<Terminal>>>();
const managers = new Map<string, TerminalManager>();
let followingLab = false;

function eachTerminal(fn: (terminal: Terminal) => void): void {
  open.forEach(widgets => widgets.forEach(widget => fn(widget.content)));
}

/**
 * The person's terminal settings, and from then on their changes and the lab theme's (the
 * 'inherit' terminal theme takes its colours) applied to the open tabs, as the lab does
 * for its own terminals.
 */
function followLab(
  registry: ISettingRegistry | null | undefined,
  themes: IThemeManager | null | undefined
): void {
  themes?.themeChanged.connect(() =>
    eachTerminal(t => t.setOption('theme', t.getOption('theme')))
  );
  void registry?.load(TERMINAL_SETTINGS).then(
    settings =>
      settings.changed.connect(() => {
        const options = settings.composite as Partial<ITerminal.IOptions>;
        eachTerminal(t => {
          for (const key of Object.keys(
            options
          ) as (keyof ITerminal.IOptions)[]) {
            t.setOption(key, options[key] as any);
          }
        });
      }),
    () => undefined // a lab without its terminal plugin: nothing to follow
  );
}

async function currentOptions(
  registry: ISettingRegistry | null | undefined
): Promise<Partial<ITerminal.IOptions>> {
  if (!registry) {
    return {};
  }
  try {
    return (await registry.load(TERMINAL_SETTINGS))
      .composite as Partial<ITerminal.IOptions>;
  } catch {
    return {}; // a lab without its terminal plugin: the widget's defaults
  }
}

/** The tab of a remote session's terminal (one per terminal: its id says which). */
export const remoteTerminalId = (sessionId: string, name: string): string =>
  `jp-lawless-terminal-${sessionId}-${name}`;

/** A remote session's terminal in a tab: a JupyterLab `Terminal` widget and where it runs. */
export type RemoteTerminalWidget = MainAreaWidget<Terminal> & {
  remote: { sessionId: string; name: string };
};

/**
 * A terminal of a remote session (started through the session's route, or, given its
 * `name`, the running one of that name) as a main-area tab, not yet in the shell.
 */
export async function remoteTerminalWidget(options: {
  sessionId: string;
  worker: string;
  /** A terminal already running (a restored tab); none: a new one. */
  name?: string;
  settingRegistry?: ISettingRegistry | null;
  themeManager?: IThemeManager | null;
  trans: TranslationBundle;
}): Promise<RemoteTerminalWidget> {
  const { trans } = options;
  const { sessionId, worker, settingRegistry } = options;
  if (!followingLab) {
    followingLab = true;
    followLab(settingRegistry, options.themeManager);
  }
  let manager = managers.get(sessionId);
  if (!manager) {
    manager = sessionTerminalManager(sessionId);
    managers.set(sessionId, manager);
  }
  const connection = options.name
    ? manager.connectTo({ model: { name: options.name } })
    : await manager.startNew();
  const content = new Terminal(
    connection,
    await currentOptions(settingRegistry)
  );
  const widget = new MainAreaWidget({ content }) as RemoteTerminalWidget;
  widget.remote = { sessionId, name: connection.name };
  widget.id = remoteTerminalId(sessionId, connection.name);
  widget.addClass('jp-lawless-remote-terminal');
  widget.title.caption = trans.__(
    'Terminal %1 of the session, on the worker %2',
    connection.name,
    worker
  );
  widget.title.icon = terminalIcon;
  widget.title.closable = true;
  // with the lab's "close on exit" off the tab stays: its title says the terminal ended
  const say = (what: string) => {
    if (!widget.isDisposed) {
      widget.title.label = `${content.title.label} (${what})`;
    }
  };
  connection.disposed.connect(() => say(trans.__('closed')));
  connection.connectionStatusChanged.connect((_, status) => {
    if (status === 'disconnected' && !connection.isDisposed) {
      say(trans.__('disconnected')); // the lab's reconnect tries are used up
    }
  });
  const tabs = open.get(sessionId) ?? new Set();
  open.set(sessionId, tabs.add(widget));
  widget.disposed.connect(() => {
    connection.dispose(); // its websocket closes; the terminal runs on, as in the lab
    tabs.delete(widget);
    if (tabs.size === 0) {
      open.delete(sessionId);
      managers.get(sessionId)?.dispose(); // no polling for a session nobody looks at
      managers.delete(sessionId);
    }
  });
  return widget;
}
