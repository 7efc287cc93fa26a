/**
 * A remote session's terminal (#16): the lab's own TerminalManager and TerminalConnection
 * (the real @jupyterlab/services) through the session's terminal bridge. What goes over the
 * websocket is terminado's JSON messages; the REST calls are the session's routes.
 */
const sessionApi = {
  createTerminal: jest.fn(),
  listTerminals: jest.fn(),
  closeTerminal: jest.fn()
};
jest.mock('../api', () => ({ api: sessionApi }));

import { ServerConnection, Terminal } from '@jupyterlab/services';

import {
  bridgeUrl,
  SessionTerminalsClient,
  sessionTerminalManager
} from '../terminalBridge';

/** A websocket that records what the connection sends; the test plays the server. */
class FakeSocket {
  static made: FakeSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  sent: unknown[][] = [];
  closed = false;
  onmessage: (event: { data: string }) => void = () => undefined;
  onclose: (event: { code: number }) => void = () => undefined;
  onerror: (event: { code: number }) => void = () => undefined;
  onopen: () => void = () => undefined;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
  }
  /** The server's side: one terminado message. */
  receive(...message: unknown[]): void {
    this.onmessage({ data: JSON.stringify(message) });
  }
}

const base = ServerConnection.makeSettings({
  baseUrl: 'http://lab/base/',
  wsUrl: 'ws://lab/base/',
  token: 'secret-token',
  appendToken: true
});
const BRIDGE =
  'ws://lab/base/lawless/api/workspace/sessions/s%201/terminals/3/websocket';
const tick = (ms = 5) => new Promise(resolve => setTimeout(resolve, ms));

describe('a terminal of a remote session', () => {
  let manager: ReturnType<typeof sessionTerminalManager>;

  beforeEach(() => {
    FakeSocket.made = [];
    Object.values(sessionApi).forEach(fn => fn.mockReset());
    sessionApi.listTerminals.mockResolvedValue({
      terminals: [{ name: '3', running: true }]
    });
    manager = sessionTerminalManager(
      's 1',
      base,
      FakeSocket as unknown as typeof WebSocket
    );
  });
  afterEach(() => {
    manager.dispose();
    jest.restoreAllMocks();
  });

  it('is started by the session route and connects to its bridge, not to terminals/websocket', async () => {
    sessionApi.createTerminal.mockResolvedValue({ terminal: { name: '3' } });
    const connection = await manager.startNew();
    expect(sessionApi.createTerminal).toHaveBeenCalledWith('s 1');
    expect(connection.name).toBe('3');
    expect(FakeSocket.made.map(s => s.url)).toEqual([BRIDGE]);
    expect(FakeSocket.made[0].url).not.toContain('token');
    expect(bridgeUrl('ws://h/', 'a/b', 'x y')).toBe(
      'ws://h/lawless/api/workspace/sessions/a%2Fb/terminals/x%20y/websocket'
    );
  });

  it("speaks terminado's messages: setup, stdin, set_size, stdout", async () => {
    const connection = manager.connectTo({ model: { name: '3' } });
    const socket = FakeSocket.made[0];
    const received: Terminal.IMessage[] = [];
    connection.messageReceived.connect((_, message) => received.push(message));
    // typed before the server said "setup": kept, then sent in order
    connection.send({ type: 'stdin', content: ['pwd\r'] });
    expect(connection.connectionStatus).toBe('connecting');
    expect(socket.sent).toEqual([]);
    socket.receive('setup', {});
    expect(connection.connectionStatus).toBe('connected');
    connection.send({ type: 'set_size', content: [24, 80, 480, 640] });
    expect(socket.sent).toEqual([
      ['stdin', 'pwd\r'],
      ['set_size', 24, 80, 480, 640]
    ]);
    socket.receive('stdout', '/worker/worktree\r\n');
    expect(received).toEqual([
      { type: 'stdout', content: ['/worker/worktree\r\n'] }
    ]);
  });

  it('reconnects to the same bridge when the socket drops, and ends when the shell exits', async () => {
    // the lab's connection logs the drop and the retry: not this test's output
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const connection = manager.connectTo({ model: { name: '3' } });
    FakeSocket.made[0].receive('setup', {});
    FakeSocket.made[0].onclose({ code: 1006 }); // the worker or the network went away
    expect(connection.connectionStatus).toBe('connecting');
    await tick();
    expect(FakeSocket.made.map(s => s.url)).toEqual([BRIDGE, BRIDGE]);
    FakeSocket.made[1].receive('setup', {});
    expect(connection.connectionStatus).toBe('connected');
    const disposed = jest.fn();
    connection.disposed.connect(disposed);
    FakeSocket.made[1].receive('disconnect', 1); // `exit` in the shell
    expect(disposed).toHaveBeenCalled();
    expect(connection.connectionStatus).toBe('disconnected');
    expect(FakeSocket.made[1].closed).toBe(true);
  });

  it("shuts down through the session's route", async () => {
    const connection = manager.connectTo({ model: { name: '3' } });
    sessionApi.closeTerminal.mockResolvedValue({});
    await connection.shutdown();
    expect(sessionApi.closeTerminal).toHaveBeenCalledWith('s 1', '3');
    expect(connection.isDisposed).toBe(true);
  });
});

describe('SessionTerminalsClient', () => {
  it('lists the running terminals of the session, each name once', async () => {
    sessionApi.listTerminals.mockResolvedValue({
      terminals: [
        { name: '1', running: false },
        { name: '2', running: true },
        { name: '2', running: true },
        { name: '4', running: true }
      ]
    });
    const client = new SessionTerminalsClient('s1', base);
    await expect(client.listRunning()).resolves.toEqual([
      { name: '2' },
      { name: '4' }
    ]);
    expect(sessionApi.listTerminals).toHaveBeenCalledWith('s1');
  });
});
