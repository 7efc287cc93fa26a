import {
  attemptCount,
  IAttempt,
  IAttemptSession,
  nextPoll,
  POLL_MS,
  summarise,
  totalCost
} from '../attempts';

function session(over: Partial<IAttemptSession> = {}): IAttemptSession {
  return {
    position: 1,
    session_id: 's1',
    name: 'fix-it-ab12-a1',
    branch: 'lawless/s1',
    worktree_path: '/w/s1',
    state: 'active',
    model: null,
    turn: {
      state: 'finished',
      stop_reason: 'end_turn',
      error: null,
      turns: 1,
      waiting_for_approval: false
    },
    diff: { files: 2, insertions: 12, deletions: 3 },
    check: { state: 'done', exit_code: 0, output: 'ok\n' },
    cost_usd: 0.01234,
    duration_ms: 4200,
    ...over
  };
}

function attempt(running: boolean, sessions: IAttemptSession[]): IAttempt {
  return {
    id: 'a',
    repo: 'project',
    base: null,
    prompt: 'Fix it',
    check: 'pytest -q',
    state: 'open',
    chosen_session: null,
    error: null,
    created_at: '2026-01-01T00:00:00Z',
    running,
    sessions
  };
}

describe('attempts', () => {
  it('summarises a finished session whose check passed', () => {
    expect(summarise(session())).toEqual({
      turn: 'Finished (1 turn)',
      diff: '+12 −3 in 2 files',
      check: 'Check passed',
      checkTone: 'good',
      cost: '$0.0123 · 4.2 s',
      keepable: true
    });
  });

  it('says how a check failed, timed out or waits', () => {
    const failed = summarise(
      session({ check: { state: 'done', exit_code: 3, output: '' } })
    );
    expect([failed.check, failed.checkTone]).toEqual([
      'Check failed (exit 3)',
      'bad'
    ]);
    expect(
      summarise(
        session({ check: { state: 'timed_out', exit_code: null, output: '' } })
      ).check
    ).toBe('Check timed out');
    const running = summarise(
      session({
        turn: {
          state: 'running',
          stop_reason: null,
          error: null,
          turns: 0,
          waiting_for_approval: false
        },
        diff: null,
        check: { state: 'pending', exit_code: null, output: null },
        duration_ms: null,
        cost_usd: 0
      })
    );
    expect(running).toMatchObject({
      turn: 'Running…',
      diff: '—',
      check: 'Check waits for the turn',
      cost: '$0.0000',
      keepable: false
    });
    expect(summarise(session({ check: null })).check).toBeNull();
    const asking = summarise(
      session({
        turn: {
          state: 'running',
          stop_reason: null,
          error: null,
          turns: 0,
          waiting_for_approval: true
        }
      })
    );
    expect(asking.turn).toBe('Waits for your approval (open its chat)');
  });

  it('does not offer to keep a session that is gone or still starting', () => {
    expect(summarise(session({ state: 'deleted' })).keepable).toBe(false);
    expect(
      summarise(
        session({
          turn: {
            state: 'pending',
            stop_reason: null,
            error: null,
            turns: 0,
            waiting_for_approval: false
          }
        })
      ).keepable
    ).toBe(false);
    const stopped = summarise(
      session({
        turn: {
          state: 'finished',
          stop_reason: 'error',
          error: null,
          turns: 2,
          waiting_for_approval: false
        }
      })
    );
    expect(stopped.turn).toBe('Stopped: error (2 turns)');
    expect(stopped.keepable).toBe(true);
  });

  it('polls while something runs and stops when all is over', () => {
    expect(nextPoll(null)).toBe(POLL_MS);
    expect(nextPoll(attempt(true, [session()]))).toBe(POLL_MS);
    expect(nextPoll(attempt(false, [session()]))).toBeNull();
  });

  it('reads the number of attempts from the form as 1 to 5', () => {
    expect(['', 'x', '0', '1', '3', '9'].map(attemptCount)).toEqual([
      1, 1, 1, 1, 3, 5
    ]);
  });

  it('adds up the cost of every session', () => {
    const total = totalCost(
      attempt(false, [session({ cost_usd: 0.5 }), session({ cost_usd: 0.25 })])
    );
    expect(total).toBeCloseTo(0.75);
  });
});
