jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: '/' }),
    makeRequest: jest.fn()
  }
}));
jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: { join: (...parts: string[]) => parts.join('/') }
}));

import { ISession } from '../format';
import { restoredView } from '../hooks/useSessions';

const session = (id: string) => ({ id }) as ISession;

describe('after a reload', () => {
  it('reopens the kept session on its tab', () => {
    expect(
      restoredView({ session: 'a', tab: 'changes' }, [
        session('b'),
        session('a')
      ])
    ).toEqual({ session: 'a', tab: 'changes' });
  });

  it('shows the list when the kept session is gone or the list did not load', () => {
    expect(restoredView({ session: 'gone', tab: 'chat' }, [session('a')])).toBe(
      null
    );
    expect(restoredView({ session: 'a' }, null)).toBe(null);
    expect(restoredView(null, [session('a')])).toBe(null);
  });

  it('opens the chat when the kept tab is unknown', () => {
    expect(
      restoredView({ session: 'a', tab: 'history' }, [session('a')])
    ).toEqual({ session: 'a', tab: 'chat' });
    expect(restoredView({ session: 'a' }, [session('a')])).toEqual({
      session: 'a',
      tab: 'chat'
    });
  });
});
