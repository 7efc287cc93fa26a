/** Main-area chats: one tab per session, named for it; tabs of deleted sessions close. */
import {
  CHAT_NAMESPACE,
  chatActivity,
  chatTabId,
  chatTabLabel,
  chatTabTitle,
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

describe('the chat tab’s header follows the session', () => {
  const demo = session('0123456789', 'demo');

  it('marks a running turn busy and returns after', () => {
    const working = chatTabTitle(demo, demo.id, chatActivity(true, 0));
    expect(working.label).toBe('Claude: demo');
    expect(working.className).toBe('jp-lawless-chattab-working');
    expect(working.caption).toMatch(/^Claude is working/);
    const idle = chatTabTitle(demo, demo.id, chatActivity(false, 0));
    expect(idle).toEqual({
      label: 'Claude: demo',
      caption: 'lawless/0123456789 ← main: /root/w/0123456789',
      className: ''
    });
  });

  it('says when Claude waits for an approval', () => {
    const waiting = chatTabTitle(demo, demo.id, chatActivity(true, 1));
    expect(waiting.label).toBe('Claude: demo (approval)');
    expect(waiting.className).toBe('jp-lawless-chattab-waiting');
    // an approval left pending by a turn that is over asks nothing any more
    expect(chatActivity(false, 1)).toBe('idle');
  });

  it('follows a rename and a session that is closing', () => {
    const renamed = { ...demo, name: 'renamed' };
    expect(chatTabTitle(renamed, demo.id, 'idle').label).toBe(
      'Claude: renamed'
    );
    const closing = chatTabTitle(
      { ...demo, state: 'deleting' },
      demo.id,
      'working'
    );
    expect(closing.label).toBe('Claude: demo (closed)');
    expect(closing.className).toBe('jp-lawless-chattab-closed');
    expect(closing.caption).toMatch(/^The session is deleting/);
  });
});
