/**
 * A session's turns as checkpoints (`GET .../turns`), and what the chat shows of them:
 * which user message starts which turn, whether a rewind undid it, the marker a rewind
 * leaves in the history. Plain TypeScript, unit-tested.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

/** A row of `GET .../turns` (see openapi.yaml `Turn`). */
export interface ITurn {
  id: string;
  number: number;
  kind: 'turn' | 'rewind';
  message: string | null;
  started_at: string;
  ended_at: string | null;
  files_changed: string[] | null;
  cost_usd: number | null;
  rewound: boolean;
  rewound_by: string | null;
  target: string | null;
}

/** Chat turns by id (rewinds are not messages, so they have no menu). */
export function turnsById(turns: ITurn[]): Map<string, ITurn> {
  return new Map(turns.filter(t => t.kind === 'turn').map(t => [t.id, t]));
}

/** The latest rewind still in effect: rewinding to it undoes it. */
export function undoableRewind(turns: ITurn[]): ITurn | null {
  const rewinds = turns.filter(t => t.kind === 'rewind' && !t.rewound);
  return rewinds.length ? rewinds[rewinds.length - 1] : null;
}

const quote = (text: string | null, max = 80): string => {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The confirm dialog's text before rewinding to before `turn`. */
export function rewindQuestion(
  turn: ITurn,
  trans: TranslationBundle = untranslated
): string {
  return trans.__(
    'The conversation with Claude goes back to before “%1”, and the worktree (files, index and branch) to how it was before Claude first changed it in this turn or a later one. This turn and every later one are undone. The current state is kept: you can rewind the rewind.',
    quote(turn.message)
  );
}

/** The line a rewind leaves in the history (a `rewind` row's content). */
export function describeRewind(
  content: { [key: string]: any },
  trans: TranslationBundle = untranslated
): string {
  const files = Array.isArray(content.files_changed)
    ? content.files_changed.length
    : 0;
  const restored =
    files === 0
      ? trans.__('no file changed')
      : trans._n('%1 file restored', '%1 files restored', files);
  return typeof content.number === 'number'
    ? trans.__(
        'Rewound to before turn %1 (%2). The turns marked rewound are undone.',
        content.number,
        restored
      )
    : trans.__(
        'Rewound to before the turn (%1). The turns marked rewound are undone.',
        restored
      );
}
