/**
 * The panel speaks the person's language: a view rendered under a translator shows its
 * bundle's strings (labels, buttons, aria-labels, titles, plurals), and the functions that
 * compose text (the chat tab's header) use the bundle they are given. The bundle here
 * marks every string it translates: «...».
 */
jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://lab/' }),
    makeRequest: jest.fn()
  }
}));
jest.mock('../remoteTerminalTabs', () => ({
  OPEN_REMOTE_TERMINAL: 'lawless:open-remote-terminal'
}));

import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { ChatItem, emptyChat } from '../chat';
import { Item } from '../components/ChatItem';
import { applyEvents } from '../events';
import { chatTabTitle } from '../chatTabNames';
import { ApprovalCard } from '../components/ApprovalCard';
import { describeError, setErrorTranslation } from '../errors';
import { TerminalView } from '../components/TerminalView';
import { IPanelContext } from '../context';
import { session } from './sessionFixture';
import {
  TRANSLATION_DOMAIN,
  TranslationContext,
  untranslated
} from '../translation';

const { renderToStaticMarkup } = jest.requireActual('react-dom/server') as {
  renderToStaticMarkup: (element: React.ReactElement) => string;
};

/** A bundle that marks what it translates, as a real language's bundle replaces it. */
function markingBundle(): TranslationBundle {
  const bundle = Object.create(untranslated) as TranslationBundle;
  bundle.__ = (msgid: string, ...args: any[]) =>
    `«${untranslated.__(msgid, ...args)}»`;
  bundle._n = (one: string, many: string, n: number, ...args: any[]) =>
    `«${untranslated._n(one, many, n, ...args)}»`;
  return bundle;
}

function render(element: React.ReactElement, trans?: TranslationBundle) {
  return renderToStaticMarkup(
    trans
      ? React.createElement(
          TranslationContext.Provider,
          { value: trans },
          element
        )
      : element
  );
}

describe('the translator reaches the views', () => {
  it('loads the bundle of the Python package’s domain', () => {
    expect(TRANSLATION_DOMAIN).toBe('lawless_jupyter');
  });

  it('shows a view’s texts, titles and aria-labels from the bundle', () => {
    const view = React.createElement(TerminalView, {
      ctx: {} as IPanelContext,
      session: session({ worker: 'eu1', worktree_dir: null })
    });
    const html = render(view, markingBundle());
    expect(html).toContain('«Open a terminal»');
    expect(html).toContain('«Show the worktree in the file browser»');
    expect(html).toContain('«This session runs on the worker»');
    expect(html).toContain(
      'title="«The worktree is outside the Jupyter root»"'
    );
    // without a translator: English as written, nothing marked
    const english = render(view);
    expect(english).toContain('Open a terminal');
    expect(english).not.toContain('«');
  });

  it('translates an approval card’s buttons, label and composed phrases', () => {
    const item = {
      kind: 'approval',
      key: 'a1',
      turnId: 't1',
      requestId: 'r1',
      toolUseId: 'u1',
      tool: 'Bash',
      input: { command: 'touch made' },
      status: 'pending',
      remember: false,
      timeoutSeconds: null,
      rule: 'Bash(touch:*)'
    } as Extract<ChatItem, { kind: 'approval' }>;
    const html = render(
      React.createElement(ApprovalCard, { item, onAnswer: () => undefined }),
      markingBundle()
    );
    expect(html).toContain('aria-label="«Permission request for Bash»"');
    for (const label of ['«Allow»', '«Deny»', '«Always allow»']) {
      expect(html).toContain(`>${label}</button>`);
    }
    // a phrase composed of translated parts: each part comes from the bundle
    expect(html).toContain(
      'title="«Allow «commands starting with “touch”» for the rest of this conversation»"'
    );
  });

  it('writes the API client’s error messages with the bundle it was told', () => {
    setErrorTranslation(markingBundle());
    try {
      expect(describeError(404, {}, t => t.__('the session'))).toBe(
        '««the session» is gone (it may have been deleted).»'
      );
      expect(describeError(503, {})).toMatch(/^«The server is not answering/);
      // what the server said stays as it is
      expect(describeError(500, { error: 'Boom.' })).toBe('Boom.');
    } finally {
      setErrorTranslation(untranslated);
    }
    expect(describeError(404, {}, t => t.__('the session'))).toBe(
      'The session is gone (it may have been deleted).'
    );
  });

  it('names the chat tab with the bundle it is given', () => {
    const title = chatTabTitle(session(), 's1', 'waiting', markingBundle());
    expect(title.label).toBe('««Claude: demo» (approval)»');
    expect(title.caption).toMatch(/^«Claude waits for your approval\./);
  });

  it('says what the chat composes (stop, failure, usage) with the bundle', () => {
    const state = applyEvents(
      emptyChat(),
      [
        { type: 'start', turn_id: 't' },
        { type: 'error', code: 'x' },
        {
          type: 'usage',
          usage: { input_tokens: 1200, output_tokens: 34 },
          cost_usd: 0.0123,
          duration_ms: 2300
        },
        { type: 'done', stop_reason: 'cancelled' }
      ].map((data, i) => ({ data, id: `1-${i + 1}` }))
    );
    const shown = state.items.map(item =>
      render(
        React.createElement(Item, {
          item,
          rendermime: {} as any,
          showThinking: false,
          onAnswer: () => undefined
        }),
        markingBundle()
      )
    );
    expect(shown.join('')).toContain('>«Something went wrong.»</div>');
    expect(shown.join('')).toContain('«1,200 tokens in» · «34 out»');
    expect(shown.join('')).toContain('«2.3 s»');
    expect(shown.join('')).toContain('>«Stopped.»</div>');
  });
});
