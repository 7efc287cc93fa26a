/**
 * Only reads are retried (#16): a POST answered 502/503, or whose connection dropped, may
 * have been done all the same; sending it again made a second session or commit.
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

import { api } from '../api';
import { retryDelays } from '../errors';

const answer = (status: number, body: object = {}): Response =>
  new Response(JSON.stringify(body), { status });

describe('what the panel sends again', () => {
  beforeEach(() => makeRequest.mockReset());

  it('a create answered 503 is sent once, and the person reads why', async () => {
    makeRequest.mockResolvedValue(answer(503));
    await expect(api.createSession({ repo: 'project' })).rejects.toThrow(
      'The server is not answering right now (503). Try again in a moment.'
    );
    expect(makeRequest).toHaveBeenCalledTimes(1);
  });

  it('a commit whose connection dropped is not sent again', async () => {
    makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
    await expect(api.commit('s1', 'Add notes')).rejects.toThrow();
    expect(makeRequest).toHaveBeenCalledTimes(1);
  });

  it('merges, approvals and new terminals are sent once too', async () => {
    makeRequest.mockResolvedValue(answer(502));
    await expect(api.merge('s1', 'merge')).rejects.toThrow();
    await expect(api.answer('s1', 'r1', 'allow', false)).rejects.toThrow();
    await expect(api.createTerminal('s1')).rejects.toThrow();
    expect(makeRequest).toHaveBeenCalledTimes(3);
    expect(
      makeRequest.mock.calls.map(([, init]) => init.method ?? 'GET')
    ).toEqual(['POST', 'POST', 'POST']);
  });

  it('a read answered 503 is tried again and then shows', async () => {
    makeRequest
      .mockResolvedValueOnce(answer(503))
      .mockResolvedValueOnce(answer(200, { sessions: [] }));
    await expect(api.listSessions()).resolves.toEqual({ sessions: [] });
    expect(makeRequest).toHaveBeenCalledTimes(2);
  });

  it('retries GET only', () => {
    expect(retryDelays('GET')).toEqual([1000, 2000, 4000]);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect(retryDelays(method)).toEqual([]);
    }
  });
});
