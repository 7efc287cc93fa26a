/**
 * The lab's terminal client pieces pointed at one remote session's terminals: its REST
 * routes (proxied to the worker) for start/list/shut down, and its terminal bridge
 * (`sessions/{id}/terminals/{name}/websocket`) for the websocket. The lab's
 * `TerminalConnection`, made by the `TerminalManager`, speaks terminado's messages over it
 * unchanged (setup, stdin, stdout, set_size, disconnect) and reconnects as in the lab.
 */
import { URLExt } from '@jupyterlab/coreutils';
import {
  ServerConnection,
  Terminal as TerminalSession,
  TerminalManager
} from '@jupyterlab/services';

import { api } from './api';

/** The websocket URL of a session's terminal bridge on this server. */
export function bridgeUrl(
  wsUrl: string,
  sessionId: string,
  name: string
): string {
  return URLExt.join(
    wsUrl,
    'lawless/api/workspace/sessions',
    encodeURIComponent(sessionId),
    'terminals',
    encodeURIComponent(name),
    'websocket'
  );
}

/**
 * A WebSocket class for the lab's `TerminalConnection`, which asks for
 * `terminals/websocket/<name>` of this server: the socket opens the session's bridge for
 * that name instead. The URL is made anew (no `?token=`: the login cookie goes along).
 */
export function bridgeSocket(
  sessionId: string,
  wsUrl: string,
  Base: typeof WebSocket = WebSocket
): typeof WebSocket {
  return class BridgeSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      const path = new URL(String(url)).pathname;
      const name = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
      super(bridgeUrl(wsUrl, sessionId, name), protocols);
    }
  };
}

/** The lab's terminal REST calls, answered by one session's terminal routes. */
export class SessionTerminalsClient
  implements TerminalSession.ITerminalAPIClient
{
  readonly isAvailable = true;

  constructor(
    readonly sessionId: string,
    readonly serverSettings: ServerConnection.ISettings
  ) {}

  async startNew(): Promise<TerminalSession.IModel> {
    const { terminal } = await api.createTerminal(this.sessionId);
    return { name: terminal.name };
  }

  async listRunning(): Promise<TerminalSession.IModel[]> {
    const { terminals } = await api.listTerminals(this.sessionId);
    const names = new Set(terminals.filter(t => t.running).map(t => t.name));
    return [...names].map(name => ({ name }));
  }

  async shutdown(name: string): Promise<void> {
    await api.closeTerminal(this.sessionId, name);
  }
}

/** A terminal manager for one remote session's terminals (the lab's, over the bridge). */
export function sessionTerminalManager(
  sessionId: string,
  base: ServerConnection.ISettings = ServerConnection.makeSettings(),
  Socket: typeof WebSocket = WebSocket
): TerminalManager {
  const serverSettings = ServerConnection.makeSettings({
    ...base,
    WebSocket: bridgeSocket(sessionId, base.wsUrl, Socket),
    appendToken: false
  });
  return new TerminalManager({
    serverSettings,
    terminalAPIClient: new SessionTerminalsClient(sessionId, serverSettings),
    standby: 'when-hidden'
  });
}
