/**
 * What the panel sends again (#16): reads, and a POST only with its Idempotency-Key (the
 * server answers a repeated key with the first answer). A POST without a key answered
 * 502/503, or whose connection dropped, may have been done all the same: never resent.
 */
const makeRequest = jest.fn();

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://lab/' }),
    makeRequest: (...args: any[]) => makeRequest(...args)
  }
}));
jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: { join: (...parts: string[]) => parts.join('/') }
}));

import { api, request, sendMessage } from '../api';
import { connectionsApi } from '../connectionsApi';

const answer = (status: number, body: object = {}): Response =>
  new Response(JSON.stringify(body), { status });

const keyOf = (call: any[]): string | null =>
  new Headers(call[1].headers).get('Idempotency-Key');

describe('what the panel sends again', () => {
  beforeEach(() => {
    makeRequest.mockReset();
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('a create answered 503 is sent again with the same key', async () => {
    makeRequest
      .mockResolvedValueOnce(answer(503))
      .mockResolvedValueOnce(answer(201, { session: { id: 's1' } }));
    const created = api.createSession({ repo: 'project' });
    await jest.advanceTimersByTimeAsync(1000);
    await expect(created).resolves.toEqual({ session: { id: 's1' } });
    expect(makeRequest).toHaveBeenCalledTimes(2);
    const [first, second] = makeRequest.mock.calls.map(keyOf);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
  });

  it('each action has its own key', async () => {
    makeRequest.mockImplementation(async () => answer(201, {}));
    await api.commit('s1', 'One');
    await api.commit('s1', 'One');
    const [first, second] = makeRequest.mock.calls.map(keyOf);
    expect(first).not.toBe(second);
  });

  it('every POST that does work carries a key', async () => {
    makeRequest.mockImplementation(async () => answer(200, {}));
    await api.createSession({ repo: 'project' });
    await api.commit('s1', 'm');
    await api.merge('s1', 'merge');
    await api.answer('s1', 'r1', 'allow', false);
    await api.createTerminal('s1');
    await connectionsApi.push('s1');
    await connectionsApi.pullRequest('s1', 'title', 'body');
    await connectionsApi.clone('me/repo');
    expect(makeRequest.mock.calls.map(keyOf).every(Boolean)).toBe(true);
    expect(makeRequest).toHaveBeenCalledTimes(8);
  });

  it('a commit whose connection dropped is sent again, with its key, until it gives up', async () => {
    makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
    const committed = api.commit('s1', 'Add notes');
    const failed = expect(committed).rejects.toThrow(
      'The Jupyter server cannot be reached'
    );
    await jest.advanceTimersByTimeAsync(60_000);
    await failed;
    expect(makeRequest).toHaveBeenCalledTimes(4); // once and three retries
    expect(new Set(makeRequest.mock.calls.map(keyOf)).size).toBe(1);
  });

  it('a POST without a key is not sent again', async () => {
    makeRequest.mockResolvedValue(answer(503));
    await expect(api.cancel('s1')).rejects.toThrow(
      'The server is not answering right now (503). Try again in a moment.'
    );
    await expect(
      request('api/anything', { method: 'POST', body: {} })
    ).rejects.toThrow();
    makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
    await expect(connectionsApi.startDevice()).rejects.toThrow();
    expect(makeRequest).toHaveBeenCalledTimes(3);
    expect(makeRequest.mock.calls.map(keyOf)).toEqual([null, null, null]);
  });

  it('a refusal is not sent again, key or not', async () => {
    makeRequest.mockResolvedValue(answer(409, { error: 'Nothing to commit.' }));
    await expect(api.commit('s1', 'm')).rejects.toThrow('Nothing to commit.');
    expect(makeRequest).toHaveBeenCalledTimes(1);
  });

  it('a read answered 503 is tried again and then shows', async () => {
    makeRequest
      .mockResolvedValueOnce(answer(503))
      .mockResolvedValueOnce(answer(200, { sessions: [] }));
    const listed = api.listSessions();
    await jest.advanceTimersByTimeAsync(1000);
    await expect(listed).resolves.toEqual({ sessions: [] });
    expect(makeRequest).toHaveBeenCalledTimes(2);
    expect(keyOf(makeRequest.mock.calls[0])).toBeNull();
  });

  it('a message whose POST failed is sent again with its key and streams one turn', async () => {
    const stream = new Response(
      'id: 1-1\ndata: {"type":"start"}\n\nid: 1-2\ndata: {"type":"done"}\n\n',
      { status: 200, headers: { 'Content-Type': 'text/event-stream' } }
    );
    makeRequest
      .mockRejectedValueOnce(new TypeError('Failed to fetch'))
      .mockResolvedValueOnce(stream);
    const events: string[] = [];
    const sent = sendMessage('s1', 'hello', {
      onEvent: event => events.push(event.type)
    });
    await jest.advanceTimersByTimeAsync(1000);
    await expect(sent).resolves.toEqual({
      outcome: 'done',
      lastEventId: '1-2'
    });
    expect(events).toEqual(['start', 'done']);
    const [first, second] = makeRequest.mock.calls.map(keyOf);
    expect(first).toBeTruthy();
    expect(second).toBe(first);
    expect(makeRequest.mock.calls[1][1].method).toBe('POST');
  });
});
