import {
  BIG_FILE_LINES,
  CollapseState,
  diffTabId,
  hasTextDiff,
  languageName,
  statText,
  tabFiles
} from '../diffTab/model';

const FILES = [
  { path: 'app.py', status: 'modified' as const, additions: 3, deletions: 1 },
  { path: 'nb/analysis.ipynb', additions: 40, deletions: 2 },
  {
    path: 'logo.png',
    status: 'added' as const,
    additions: 0,
    deletions: 0,
    binary: true
  },
  {
    path: 'data.csv',
    status: 'modified' as const,
    additions: BIG_FILE_LINES,
    deletions: 1
  }
];

describe('the diff tab file list', () => {
  it('lists every file with its kind: notebook, binary, big', () => {
    const files = tabFiles(FILES);
    expect(
      files.map(f => [f.path, f.status, f.notebook, f.binary, f.big])
    ).toEqual([
      ['app.py', 'modified', false, false, false],
      ['nb/analysis.ipynb', 'modified', true, false, false],
      ['logo.png', 'added', false, true, false],
      ['data.csv', 'modified', false, false, true]
    ]);
    expect(files.map(hasTextDiff)).toEqual([true, false, false, true]);
    expect(files.map(statText)).toEqual([
      '+3 −1',
      '+40 −2',
      'binary',
      `+${BIG_FILE_LINES} −1`
    ]);
  });

  it('one tab per session and comparison', () => {
    expect(diffTabId('abc', 'base')).not.toEqual(diffTabId('abc', 'head'));
    expect(diffTabId('abc', 'base')).not.toEqual(diffTabId('abd', 'base'));
  });
});

describe('collapse state', () => {
  it('starts big files collapsed, the rest open', () => {
    const state = new CollapseState();
    const files = tabFiles(FILES);
    expect(files.map(f => state.isCollapsed(f))).toEqual([
      false,
      false,
      false,
      true
    ]);
  });

  it('keeps a toggle across a refresh (new file objects, same paths)', () => {
    const state = new CollapseState();
    const [app, , , big] = tabFiles(FILES);
    expect(state.toggle(app)).toBe(true);
    expect(state.toggle(big)).toBe(false);
    const again = tabFiles(FILES);
    expect(state.isCollapsed(again[0])).toBe(true);
    expect(state.isCollapsed(again[3])).toBe(false);
    expect(state.toggle(again[0])).toBe(false);
  });

  it('collapses and expands all', () => {
    const state = new CollapseState();
    const files = tabFiles(FILES);
    state.setAll(files, true);
    expect(files.every(f => state.isCollapsed(f))).toBe(true);
    state.setAll(files, false);
    expect(files.some(f => state.isCollapsed(f))).toBe(false);
  });
});

describe('language from name', () => {
  // the lab registry matches a file *name* (extensions, and names like Makefile)
  const asked: string[] = [];
  const registry = {
    findByFileName(name: string) {
      asked.push(name);
      return /\.py$/.test(name)
        ? { name: 'python' }
        : name === 'Dockerfile'
          ? { name: 'dockerfile' }
          : null;
    }
  };

  it('asks the registry with the name, not the path', () => {
    expect(languageName(registry, 'src/pkg/mod.py')).toBe('python');
    expect(languageName(registry, 'deploy/Dockerfile')).toBe('dockerfile');
    expect(asked).toEqual(['mod.py', 'Dockerfile']);
  });

  it('has no language for a name the registry does not know', () => {
    expect(languageName(registry, 'notes.unknown')).toBeNull();
  });
});
