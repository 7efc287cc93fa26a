/**
 * Live documents: which file a tool call changed, where the lab has it open, and what
 * happens to the open document (reverted when clean, a notice when dirty).
 */
import {
  changedFile,
  IOpenDocument,
  IOpenDocuments,
  labPath,
  LiveDocuments
} from '../liveDocuments';

const WORKTREE = '/root/lawless-worktrees/project/demo';
const DIR = 'lawless-worktrees/project/demo';

describe('changedFile', () => {
  it('reads the path of each tool that changes a file, relative to the worktree', () => {
    expect(
      changedFile('Write', { file_path: `${WORKTREE}/nb.ipynb` }, WORKTREE)
    ).toBe('nb.ipynb');
    expect(
      changedFile(
        'Edit',
        { file_path: `${WORKTREE}/src/./a/../app.py` },
        WORKTREE
      )
    ).toBe('src/app.py');
    expect(
      changedFile('MultiEdit', { file_path: `${WORKTREE}/x.py` }, WORKTREE)
    ).toBe('x.py');
    expect(
      changedFile(
        'NotebookEdit',
        { notebook_path: `${WORKTREE}/n.ipynb` },
        WORKTREE
      )
    ).toBe('n.ipynb');
    expect(
      changedFile('mcp__jupyter__edit_cell', { path: 'sub/n.ipynb' }, WORKTREE)
    ).toBe('sub/n.ipynb');
    expect(
      changedFile(
        'mcp__jupyter__run_cell',
        { path: './n.ipynb' },
        WORKTREE + '/'
      )
    ).toBe('n.ipynb');
  });

  it('ignores reads, shell commands, failed shapes and paths outside the worktree', () => {
    expect(changedFile('Read', { file_path: `${WORKTREE}/a` }, WORKTREE)).toBe(
      null
    );
    expect(changedFile('Bash', { command: 'touch a' }, WORKTREE)).toBe(null);
    expect(changedFile('Write', {}, WORKTREE)).toBe(null);
    expect(changedFile('Write', null, WORKTREE)).toBe(null);
    expect(changedFile('Write', { file_path: '/etc/passwd' }, WORKTREE)).toBe(
      null
    );
    expect(
      changedFile('Write', { file_path: `${WORKTREE}-other/a` }, WORKTREE)
    ).toBe(null);
    expect(
      changedFile('Write', { file_path: `${WORKTREE}/../other/a` }, WORKTREE)
    ).toBe(null);
    expect(
      changedFile('mcp__jupyter__edit_cell', { path: '../x.ipynb' }, WORKTREE)
    ).toBe(null);
  });
});

describe('labPath', () => {
  it('puts the worktree folder (relative to the Jupyter root) in front', () => {
    expect(labPath('nb.ipynb', DIR)).toBe(`${DIR}/nb.ipynb`);
    expect(labPath('nb.ipynb', '')).toBe('nb.ipynb');
    expect(labPath('nb.ipynb', null)).toBe(null); // outside the root: never open
  });
});

class FakeDocs implements IOpenDocuments {
  docs: (IOpenDocument & { reverted: number })[] = [];
  disk: { [path: string]: string } = {};
  notices: { path: string; reload: () => Promise<void> }[] = [];

  open(
    path: string,
    dirty: boolean,
    lastModified = 't0',
    collaborative = false
  ) {
    const doc = {
      path,
      dirty,
      collaborative,
      lastModified,
      reverted: 0,
      revert: async () => {
        doc.reverted += 1;
      }
    };
    this.docs.push(doc);
    return doc;
  }
  find = (path: string) => this.docs.find(d => d.path === path) ?? null;
  all = () => this.docs;
  modifiedOnDisk = async (path: string) => this.disk[path] ?? null;
  notifyDirty = (path: string, reload: () => Promise<void>) => {
    this.notices.push({ path, reload });
  };
}

async function edit(
  live: LiveDocuments,
  id: string,
  name: string,
  input: any,
  isError = false
) {
  await live.onEvent({ type: 'tool_use', id, name, input });
  await live.onEvent({
    type: 'tool_result',
    tool_use_id: id,
    content: 'ok',
    is_error: isError
  });
}

describe('LiveDocuments', () => {
  it('reverts a clean open document after Claude changed its file', async () => {
    const docs = new FakeDocs();
    const nb = docs.open(`${DIR}/nb.ipynb`, false);
    const other = docs.open(`${DIR}/other.py`, false);
    const live = new LiveDocuments(docs, WORKTREE, DIR);
    await edit(live, 't1', 'Write', { file_path: `${WORKTREE}/nb.ipynb` });
    expect(nb.reverted).toBe(1);
    expect(other.reverted).toBe(0);
    expect(docs.notices).toEqual([]);
  });

  it('keeps a dirty copy and tells the person, whose reload reverts it', async () => {
    const docs = new FakeDocs();
    const nb = docs.open(`${DIR}/nb.ipynb`, true);
    const live = new LiveDocuments(docs, WORKTREE, DIR);
    await edit(live, 't1', 'mcp__jupyter__edit_cell', { path: 'nb.ipynb' });
    expect(nb.reverted).toBe(0);
    expect(docs.notices.map(n => n.path)).toEqual([`${DIR}/nb.ipynb`]);
    await docs.notices[0].reload();
    expect(nb.reverted).toBe(1);
  });

  it('does nothing for a failed tool call, a file not open, or a read', async () => {
    const docs = new FakeDocs();
    const nb = docs.open(`${DIR}/nb.ipynb`, false);
    const live = new LiveDocuments(docs, WORKTREE, DIR);
    await edit(live, 't1', 'Edit', { file_path: `${WORKTREE}/nb.ipynb` }, true);
    await edit(live, 't2', 'Write', { file_path: `${WORKTREE}/closed.py` });
    await edit(live, 't3', 'Read', { file_path: `${WORKTREE}/nb.ipynb` });
    await live.onEvent({ type: 'tool_result', tool_use_id: 'unknown' });
    expect(nb.reverted).toBe(0);
    expect(docs.notices).toEqual([]);
  });

  it('after a turn, reverts clean documents of the worktree changed on disk', async () => {
    const docs = new FakeDocs();
    const byShell = docs.open(`${DIR}/made-by-bash.py`, false, 't0');
    const same = docs.open(`${DIR}/same.py`, false, 't0');
    const dirty = docs.open(`${DIR}/dirty.py`, true, 't0');
    const elsewhere = docs.open('notes/elsewhere.py', false, 't0');
    docs.disk = {
      [byShell.path]: 't1',
      [same.path]: 't0',
      [dirty.path]: 't1',
      [elsewhere.path]: 't1'
    };
    const live = new LiveDocuments(docs, WORKTREE, DIR);
    await live.onEvent({ type: 'done', stop_reason: 'end_turn' });
    expect([byShell, same, dirty, elsewhere].map(d => d.reverted)).toEqual([
      1, 0, 0, 0
    ]);
  });

  it('leaves collaborative documents to the server, clean or dirty', async () => {
    const docs = new FakeDocs();
    const clean = docs.open(`${DIR}/shared.ipynb`, false, 't0', true);
    const dirty = docs.open(`${DIR}/typing.ipynb`, true, 't0', true);
    docs.disk = { [clean.path]: 't1', [dirty.path]: 't1' };
    const live = new LiveDocuments(docs, WORKTREE, DIR);
    await edit(live, 't1', 'mcp__jupyter__edit_cell', { path: 'shared.ipynb' });
    await edit(live, 't2', 'Write', { file_path: `${WORKTREE}/typing.ipynb` });
    await live.onEvent({ type: 'done', stop_reason: 'end_turn' });
    expect([clean.reverted, dirty.reverted]).toEqual([0, 0]);
    expect(docs.notices).toEqual([]);
  });
});
