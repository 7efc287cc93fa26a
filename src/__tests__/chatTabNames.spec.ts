/** Main-area chats: one tab per session, named for it; tabs of deleted sessions close. */
import {
  CHAT_NAMESPACE,
  chatTabId,
  chatTabLabel,
  goneSessions
} from '../chatTabNames';
import { ISession } from '../format';

const session = (id: string, name: string | null): ISession => ({
  id,
  name,
  repo: 'project',
  base: 'main',
  base_commit: null,
  branch: `lawless/${id}`,
  worktree_path: `/root/w/${id}`,
  worktree_dir: `w/${id}`,
  state: 'active',
  error: null,
  created_at: '',
  updated_at: ''
});

describe('chat tab names', () => {
  it('gives each session one tab id, in the tracker’s namespace', () => {
    expect(chatTabId('abc')).toBe(`${CHAT_NAMESPACE}-abc`);
    expect(chatTabId('abc')).toBe(chatTabId('abc'));
    expect(chatTabId('abc')).not.toBe(chatTabId('abd'));
  });

  it('titles the tab by the session’s name, or its id before it is read', () => {
    expect(chatTabLabel(null, '0123456789abcdef')).toBe('Claude: 01234567');
    expect(chatTabLabel(session('0123456789', 'demo'), '0123456789')).toBe(
      'Claude: demo'
    );
    expect(chatTabLabel(session('0123456789', null), '0123456789')).toBe(
      'Claude: 01234567'
    );
  });
});

describe('goneSessions', () => {
  it('closes the tabs whose session is no longer listed', () => {
    expect(goneSessions(['a', 'b', 'c'], [session('b', null)])).toEqual([
      'a',
      'c'
    ]);
    expect(goneSessions(['a'], [session('a', null)])).toEqual([]);
  });

  it('closes nothing when the list could not be read', () => {
    expect(goneSessions(['a', 'b'], null)).toEqual([]);
  });
});
