import { fromHistory } from '../chat';
import {
  describeRewind,
  ITurn,
  rewindQuestion,
  turnsById,
  undoableRewind
} from '../turns';

const turn = (fields: Partial<ITurn>): ITurn => ({
  id: 't',
  number: 1,
  kind: 'turn',
  message: 'Do it',
  started_at: '2026-01-01T00:00:00Z',
  ended_at: null,
  files_changed: [],
  cost_usd: null,
  rewound: false,
  rewound_by: null,
  target: null,
  ...fields
});

describe('turns', () => {
  it('gives chat turns a menu by id, not rewinds', () => {
    const byId = turnsById([
      turn({ id: 'a', number: 1 }),
      turn({ id: 'r', number: 2, kind: 'rewind', message: null })
    ]);
    expect([...byId.keys()]).toEqual(['a']);
  });

  it('finds the rewind that can still be undone', () => {
    const turns = [
      turn({ id: 'a', number: 1, rewound: true, rewound_by: 'r2' }),
      turn({ id: 'r1', number: 2, kind: 'rewind', rewound: true }),
      turn({ id: 'r2', number: 3, kind: 'rewind' })
    ];
    expect(undoableRewind(turns)?.id).toBe('r2');
    expect(undoableRewind([turn({})])).toBeNull();
  });

  it('quotes the turn, cut and on one line, in the confirm question', () => {
    const question = rewindQuestion(
      turn({ message: 'Fix the\nbug ' + 'x'.repeat(200) })
    );
    expect(question).toContain('“Fix the bug xxx');
    expect(question).toContain('…”');
    expect(question).toContain('rewind the rewind');
    // the worktree as before Claude's first change from there on (a turn that only
    // answered recorded nothing; the person's own edits since are kept)
    expect(question).toContain('before Claude first changed it');
  });

  it('shows a rewind row of the history as a notice saying what came back', () => {
    const items = fromHistory([
      { seq: 1, turn_id: 'a', role: 'user', content: { text: 'Write' } },
      {
        seq: 2,
        turn_id: 'r',
        role: 'rewind',
        content: { turn: 'a', number: 1, files_changed: ['a.txt', 'b.bin'] }
      }
    ]);
    expect(items.map(i => i.kind)).toEqual(['user', 'notice']);
    const notice = items[1];
    expect(notice.kind === 'notice' && notice.text).toBe(
      'Rewound to before turn 1 (2 files restored). The turns marked rewound are undone.'
    );
    expect(describeRewind({ files_changed: [] })).toContain('no file changed');
  });
});
