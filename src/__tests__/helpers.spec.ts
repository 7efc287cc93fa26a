import { describeError } from '../errors';
import { age, parsePatch, workingText } from '../format';

describe('errors', () => {
  const now = new Date('2025-01-01T12:00:00Z');

  it('says what each status means', () => {
    expect(describeError(403, { error: 'Forbidden' })).toBe(
      'Access denied: Forbidden'
    );
    expect(
      describeError(404, { error: 'No such session.' }, 'the session')
    ).toBe('The session is gone: No such session.');
    expect(describeError(0, null)).toMatch(/cannot be reached/);
    expect(describeError(500, { error: 'Boom.' })).toBe('Boom.');
  });

  it('shows the limit and when it resets on 429', () => {
    const reset = now.getTime() / 1000 + 600;
    const text = describeError(
      429,
      { error: 'Too many chat messages.', limit: 100, retryAfter: 600, reset },
      'x',
      now
    );
    expect(text).toMatch(
      /^Too many chat messages\. The limit is 100\. It resets at .* \(in 10 min\)\.$/
    );
  });
});

describe('format', () => {
  it('says under a running turn whether it waits for a Claude slot', () => {
    expect(workingText(null, false)).toBe('Claude is working…');
    expect(workingText(3, false)).toBe(
      'Waiting for a free Claude slot (2 ahead)…'
    );
    expect(workingText(1, false)).toBe(
      'Waiting for a free Claude slot (next in line)…'
    );
    expect(workingText(1, true)).toBe('Connection lost, re-attaching…');
  });

  it('ages', () => {
    const now = new Date('2025-01-01T12:00:00Z');
    expect(age('2025-01-01T11:59:30Z', now)).toBe('just now');
    expect(age('2025-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(age('2025-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(age('2024-12-30T12:00:00Z', now)).toBe('2 d ago');
  });

  it('splits a patch into highlighted files', () => {
    const files = parsePatch(
      [
        'diff --git a/made b/made',
        'new file mode 100644',
        '--- /dev/null',
        '+++ b/made',
        '@@ -0,0 +1 @@',
        '+hello',
        'diff --git a/src/app.py b/src/app.py',
        '--- a/src/app.py',
        '+++ b/src/app.py',
        '@@ -1 +1 @@',
        '-x = 1',
        '+x = 2',
        ' y',
        ''
      ].join('\n')
    );
    expect(files.map(f => f.path)).toEqual(['made', 'src/app.py']);
    expect(files[0].lines.map(l => l.kind)).toEqual([
      'meta',
      'meta',
      'meta',
      'meta',
      'hunk',
      'add'
    ]);
    expect(files[1].lines.slice(-3).map(l => l.kind)).toEqual([
      'del',
      'add',
      'context'
    ]);
  });
});
