import {
  alwaysAllowTitle,
  commandText,
  hooksWarning,
  ruleLabel,
  whyAskedEveryTime
} from '../rules';

describe('"Always allow" rules in the panel', () => {
  it('shows a command whole, however long', () => {
    const long = 'echo ' + 'x'.repeat(5000) + ' && rm -rf build';
    expect(commandText('Bash', { command: long })).toBe(long);
    expect(commandText('Write', { file_path: 'a.txt' })).toContain(
      '"file_path"'
    );
  });

  it('says what a rule allows', () => {
    expect(ruleLabel('Bash(git status:*)')).toBe(
      'commands starting with “git status”'
    );
    expect(ruleLabel('Bash(python x.py)')).toBe('exactly “python x.py”');
    expect(ruleLabel('Edit')).toBe('every Edit');
    expect(alwaysAllowTitle('Bash(mkdir:*)')).toBe(
      'Allow commands starting with “mkdir” for the rest of this conversation'
    );
  });

  it('offers no "Always allow" when the server has no rule to keep', () => {
    expect(alwaysAllowTitle(null)).toBeNull();
    expect(whyAskedEveryTime('Bash', null)).toMatch(/asked every time/);
    expect(whyAskedEveryTime('Write', null)).toMatch(/names commands/);
    expect(whyAskedEveryTime('Bash', 'Bash(ls:*)')).toBeNull();
  });

  it('names the hooks a commit or merge would run', () => {
    expect(hooksWarning([])).toBeNull();
    expect(hooksWarning(undefined)).toBeNull();
    expect(hooksWarning(['.husky/pre-commit'])).toMatch(
      /run by git on commit or merge: \.husky\/pre-commit\./
    );
  });
});
