/**
 * The views that hold logic, rendered as a person first sees them (react-dom/server: the
 * jest environment has no DOM).
 */
jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://lab/' }),
    makeRequest: jest.fn()
  }
}));
jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: { join: (...parts: string[]) => parts.join('/') }
}));
// the lab's Terminal widget (ES modules, xterm.js): not rendered here
jest.mock('../remoteTerminalTabs', () => ({
  OPEN_REMOTE_TERMINAL: 'lawless:open-remote-terminal'
}));

import React from 'react';

import { ChatItem } from '../chat';
import { Alerts } from '../components/Alerts';
import { ApprovalCard } from '../components/ApprovalCard';
import { Item } from '../components/ChatItem';
import { emptyChat } from '../chat';
import { applyEvents } from '../events';
import { DiffView } from '../components/DiffView';
import { TerminalView } from '../components/TerminalView';
import { IPanelContext } from '../context';
import { session } from './sessionFixture';
import { remoteWorker } from '../format';

// react-dom ships no types here (no @types/react-dom among the dev dependencies)
const { renderToStaticMarkup } = jest.requireActual('react-dom/server') as {
  renderToStaticMarkup: (element: React.ReactElement) => string;
};

const ctx = {} as IPanelContext;

/** The page's text, as read: tags dropped, entities decoded. */
const text = (html: string): string =>
  html
    .replace(/<[^>]+>/g, '')
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The opening tag of the button whose label is `label`. */
function button(html: string, label: string): string {
  const start = html.lastIndexOf('<button', html.indexOf(label));
  return html.slice(start, html.indexOf('>', start) + 1);
}

describe('TerminalView', () => {
  it('opens terminals of a session on this server', () => {
    const html = renderToStaticMarkup(
      React.createElement(TerminalView, { ctx, session: session() })
    );
    expect(text(html)).toContain(
      "A terminal that starts in this session's worktree, on its branch."
    );
    expect(button(html, 'Open a terminal')).not.toContain('disabled');
  });

  it("opens a remote session's terminal on its worker, and says the file browser cannot show its worktree", () => {
    const remote = session({ worker: 'eu1' });
    expect(remoteWorker(remote)).toBe('eu1');
    expect(remoteWorker(session({ worker: 'local' }))).toBeNull();
    const html = renderToStaticMarkup(
      React.createElement(TerminalView, { ctx, session: remote })
    );
    expect(text(html)).toContain(
      'This session runs on the worker eu1: its worktree and terminals are there. A terminal opens in the main area'
    );
    expect(button(html, 'Open a terminal')).not.toContain('disabled');
    expect(button(html, 'Show the worktree in the file browser')).toContain(
      'disabled'
    );
  });
});

describe('Alerts', () => {
  it('shows an error as an alert and a notice as a status, nothing when empty', () => {
    const html = renderToStaticMarkup(
      React.createElement(Alerts, { error: 'It failed.', notice: 'Committed.' })
    );
    expect(html).toBe(
      '<div class="jp-lawless-error" role="alert">It failed.</div>' +
        '<div class="jp-lawless-notice" role="status">Committed.</div>'
    );
    expect(
      renderToStaticMarkup(React.createElement(Alerts, { error: null }))
    ).toBe('');
  });
});

describe('ApprovalCard', () => {
  const card = (over: object) => {
    const item = {
      kind: 'approval',
      key: 'a1',
      turnId: 't1',
      requestId: 'r1',
      toolUseId: 'x',
      tool: 'Bash',
      input: { command: 'touch made' },
      status: 'pending',
      remember: false,
      timeoutSeconds: 300,
      ...over
    } as Extract<ChatItem, { kind: 'approval' }>;
    return renderToStaticMarkup(
      React.createElement(ApprovalCard, { item, onAnswer: () => undefined })
    );
  };

  it('asks with the command and three answers while pending', () => {
    const html = card({ rule: 'Bash(touch:*)' });
    expect(text(html)).toBe(
      'Claude wants to use Bash:touch made' +
        'Always allow: commands starting with “touch”AllowDenyAlways allow'
    );
    expect(html).toContain('aria-label="Permission request for Bash"');
    expect(html).toContain(
      'title="Allow commands starting with “touch” for the rest of this conversation"'
    );
  });

  it('shows a long command whole and offers no Always allow for a compound one', () => {
    const command = `for f in *.py; do echo "$f"; done && ${'x'.repeat(300)}`;
    const html = card({ input: { command }, rule: null, runsGitHooks: true });
    expect(text(html)).toContain(command);
    expect(text(html)).toContain('This runs git hooks of the repository');
    expect(text(html)).toContain('is asked every time');
    expect(text(html)).not.toContain('Always allow');
  });

  it('says what was decided once answered', () => {
    expect(text(card({ status: 'allowed' }))).toContain('Allowed');
    expect(
      text(card({ status: 'allowed', remember: true, rule: 'Bash(touch:*)' }))
    ).toContain('Allowed (always for commands starting with “touch”)');
    expect(text(card({ status: 'denied' }))).toContain('Denied');
    expect(text(card({ status: 'expired' }))).toContain(
      'No answer in time: denied'
    );
    expect(card({ status: 'denied' })).not.toContain('<button');
  });
});

describe('a tool card', () => {
  const card = (runsGitHooks: boolean) => {
    const state = applyEvents(emptyChat(), [
      {
        data: {
          type: 'tool_use',
          id: 'x',
          name: 'Bash',
          input: { command: 'git commit -m done' },
          ...(runsGitHooks ? { runs_git_hooks: true } : {})
        },
        id: '1-1'
      }
    ]);
    return renderToStaticMarkup(
      React.createElement(Item, {
        item: state.items[0],
        rendermime: {} as any,
        showThinking: false,
        onAnswer: () => undefined
      })
    );
  };

  it('says when the command runs git hooks, in its one-line summary', () => {
    const summary = (html: string) => text(html.split('</summary>')[0]);
    expect(summary(card(true))).toContain('runs git hooks');
    expect(summary(card(false))).not.toContain('runs git hooks');
  });
});

describe('DiffView', () => {
  it('shows each file with its counts and lines, and says when it is cut short', () => {
    const patch = [
      'diff --git a/notes.md b/notes.md',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/notes.md',
      '@@ -0,0 +1 @@',
      '+merged from the panel',
      'diff --git a/logo.png b/logo.png',
      'Binary files /dev/null and b/logo.png differ'
    ].join('\n');
    const html = renderToStaticMarkup(
      React.createElement(DiffView, {
        diff: {
          against: 'base',
          patch,
          files: [
            { path: 'notes.md', additions: 1, deletions: 0 },
            { path: 'logo.png', additions: 0, deletions: 0, binary: true }
          ],
          truncated: true
        }
      })
    );
    const shown = text(html);
    expect(shown).toContain('Diff against the base');
    expect(shown).toContain('notes.md+1 −0');
    expect(shown).toContain('+merged from the panel');
    expect(shown).toContain('logo.png+0 −0(binary file)');
    expect(shown).toContain('The diff was cut short: it is too large.');
    expect(html).toContain('jp-lawless-line-add');
  });

  it('offers a notebook cell by cell instead of its JSON; other files keep their lines', () => {
    const patch = [
      'diff --git a/nb.ipynb b/nb.ipynb',
      '--- a/nb.ipynb',
      '+++ b/nb.ipynb',
      '@@ -1 +1 @@',
      '-   "source": ["x = 1"]',
      '+   "source": ["x = 2"]',
      'diff --git a/app.py b/app.py',
      '--- a/app.py',
      '+++ b/app.py',
      '@@ -1 +1 @@',
      '-x = 1',
      '+x = 2'
    ].join('\n');
    const diff = {
      against: 'base' as const,
      patch,
      files: [
        { path: 'nb.ipynb', additions: 1, deletions: 1 },
        { path: 'app.py', additions: 1, deletions: 1 }
      ]
    };
    const html = renderToStaticMarkup(
      React.createElement(DiffView, { diff, onOpenNotebook: () => undefined })
    );
    const shown = text(html);
    expect(button(html, 'Show cell by cell')).toContain(
      'aria-label="Show the cell-by-cell diff of nb.ipynb"'
    );
    expect(shown).not.toContain('"source"');
    expect(shown).toContain('+x = 2');
    // without a way to open it (no lab around), the notebook's lines are shown as before
    const plain = text(
      renderToStaticMarkup(React.createElement(DiffView, { diff }))
    );
    expect(plain).toContain('+ "source": ["x = 2"]');
    expect(plain).not.toContain('Show cell by cell');
  });

  it('says when there is no difference', () => {
    const html = renderToStaticMarkup(
      React.createElement(DiffView, {
        diff: { against: 'head', patch: '', files: [] }
      })
    );
    expect(text(html)).toBe('Diff against the last commitNo differences.');
  });
});
