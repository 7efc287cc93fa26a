/**
 * Files named in the chat as links into the lab: the path relative to Jupyter's root, the
 * line when known, nothing for paths outside the worktree; and why "Open worktree" cannot.
 */
import {
  lineOf,
  toolFileLink,
  worktreeLink,
  worktreeProblem
} from '../fileLinks';

const WORKTREE = '/srv/root/lawless-worktrees/project/demo';
const session = {
  worktree_path: WORKTREE,
  worktree_dir: 'lawless-worktrees/project/demo'
};

describe('toolFileLink', () => {
  it('maps a built-in tool’s absolute path to the lab’s path', () => {
    for (const tool of ['Read', 'Edit', 'Write', 'MultiEdit']) {
      expect(
        toolFileLink(tool, { file_path: `${WORKTREE}/src/app.py` }, session)
      ).toEqual({
        path: 'lawless-worktrees/project/demo/src/app.py',
        line: null,
        label: 'src/app.py'
      });
    }
    expect(
      toolFileLink(
        'NotebookEdit',
        { notebook_path: `${WORKTREE}/nb.ipynb` },
        session
      )?.path
    ).toBe('lawless-worktrees/project/demo/nb.ipynb');
  });

  it('opens a Read with an offset at that line', () => {
    expect(
      toolFileLink(
        'Read',
        { file_path: `${WORKTREE}/a.py`, offset: 40, limit: 10 },
        session
      )?.line
    ).toBe(40);
    // an offset on another tool is no line of ours
    expect(
      toolFileLink(
        'Edit',
        { file_path: `${WORKTREE}/a.py`, offset: 3 },
        session
      )?.line
    ).toBeNull();
  });

  it('takes the jupyter tools’ path as relative to the worktree', () => {
    expect(
      toolFileLink(
        'mcp__jupyter__run_cell',
        { path: 'analysis.ipynb', index: 1 },
        session
      )
    ).toEqual({
      path: 'lawless-worktrees/project/demo/analysis.ipynb',
      line: null,
      label: 'analysis.ipynb'
    });
    // execute names no file
    expect(
      toolFileLink('mcp__jupyter__execute', { code: '1+1' }, session)
    ).toBeNull();
  });

  it('makes no link of a path outside the worktree', () => {
    expect(
      toolFileLink('Read', { file_path: '/etc/passwd' }, session)
    ).toBeNull();
    expect(
      toolFileLink('Read', { file_path: `${WORKTREE}-other/a.py` }, session)
    ).toBeNull();
    expect(
      toolFileLink('Read', { file_path: `${WORKTREE}/../x.py` }, session)
    ).toBeNull();
    expect(
      toolFileLink(
        'mcp__jupyter__read_notebook',
        { path: '../x.ipynb' },
        session
      )
    ).toBeNull();
    expect(toolFileLink('Bash', { command: 'ls' }, session)).toBeNull();
    expect(toolFileLink('Read', {}, session)).toBeNull();
  });

  it('makes no link when the worktree is outside Jupyter’s root', () => {
    const outside = { worktree_path: WORKTREE, worktree_dir: null };
    expect(
      toolFileLink('Read', { file_path: `${WORKTREE}/a.py` }, outside)
    ).toBeNull();
    expect(worktreeLink('a.py', outside)).toBeNull();
  });

  it('keeps a worktree at the root itself relative to the root', () => {
    const atRoot = { worktree_path: WORKTREE, worktree_dir: '' };
    expect(worktreeLink('a.py', atRoot)?.path).toBe('a.py');
  });
});

describe('worktreeProblem', () => {
  it('lets the file browser open a local worktree inside the root', () => {
    expect(worktreeProblem({ worktree_dir: 'w/x' })).toBeNull();
    expect(
      worktreeProblem({ worker: 'local', worktree_dir: 'w/x' })
    ).toBeNull();
  });

  it('says a remote worker’s files are on another machine', () => {
    expect(worktreeProblem({ worker: 'gpu-1', worktree_dir: 'w/x' })).toMatch(
      /worker “gpu-1”.*on that machine/
    );
  });

  it('says a worktree outside the root cannot be shown', () => {
    expect(worktreeProblem({ worktree_dir: null })).toMatch(/outside Jupyter/);
  });
});

describe('an Edit opens at its change', () => {
  const edit = (input: { [key: string]: unknown }) =>
    toolFileLink('Edit', { file_path: `${WORKTREE}/a.py`, ...input }, session);

  it('looks for the new text, then the old one', () => {
    expect(edit({ old_string: 'x = 1', new_string: 'x = 2' })?.find).toEqual([
      'x = 2',
      'x = 1'
    ]);
    // a deletion (empty new text) is found by what it removed... if still there
    expect(edit({ old_string: 'x = 1', new_string: '' })?.find).toEqual([
      'x = 1'
    ]);
    expect(
      toolFileLink(
        'MultiEdit',
        {
          file_path: `${WORKTREE}/a.py`,
          edits: [{ old_string: 'a', new_string: 'b' }]
        },
        session
      )?.find
    ).toEqual(['b', 'a']);
    // a Read has no change to look for
    expect(
      toolFileLink('Read', { file_path: `${WORKTREE}/a.py` }, session)?.find
    ).toBeUndefined();
  });

  it('finds the line of the first text present, else line 1', () => {
    const text = 'one\ntwo\nthree = 3\nfour\n';
    expect(lineOf(text, ['three = 3', 'one'])).toBe(3);
    expect(lineOf(text, ['gone', 'four'])).toBe(4);
    expect(lineOf(text, ['two\nthree'])).toBe(2); // a change of many lines: its first
    expect(lineOf(text, ['gone'])).toBe(1);
    expect(lineOf('', [])).toBe(1);
  });
});
