/** Small pure helpers for the panel: ages, diffs, session labels. */
import { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function age(
  iso: string,
  now: Date = new Date(),
  trans: TranslationBundle = untranslated
): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return '';
  }
  const seconds = Math.max(0, (now.getTime() - then) / 1000);
  if (seconds < 60) {
    return trans.__('just now');
  }
  if (seconds < 3600) {
    return trans.__('%1 min ago', Math.floor(seconds / 60));
  }
  if (seconds < 86400) {
    return trans.__('%1 h ago', Math.floor(seconds / 3600));
  }
  return trans.__('%1 d ago', Math.floor(seconds / 86400));
}

export interface ISession {
  id: string;
  name: string | null;
  repo: string;
  base: string;
  base_commit: string | null;
  branch: string;
  worktree_path: string;
  worktree_dir: string | null;
  state: string;
  error: string | null;
  /** Where it runs: `local` (this server) or a remote worker's id. */
  worker?: string;
  created_at: string;
  updated_at: string;
}

/**
 * The line under a running turn: where the answer will stream. While the turn waits for a
 * Claude Code process (`queued`) it says so and how many turns are before it.
 */
export function workingText(
  queued: number | null | undefined,
  reconnecting: boolean,
  trans: TranslationBundle = untranslated
): string {
  if (reconnecting) {
    return trans.__('Connection lost, re-attaching…');
  }
  if (queued) {
    const ahead = queued - 1;
    return ahead > 0
      ? trans.__('Waiting for a free Claude slot (%1 ahead)…', ahead)
      : trans.__('Waiting for a free Claude slot (next in line)…');
  }
  return trans.__('Claude is working…');
}

export function sessionLabel(session: ISession): string {
  return session.name || session.id.slice(0, 8);
}

/** The remote worker a session runs on, or null when it runs on this server. */
export function remoteWorker(session: ISession): string | null {
  return session.worker && session.worker !== 'local' ? session.worker : null;
}

export type DiffLineKind = 'add' | 'del' | 'hunk' | 'meta' | 'context';

export interface IDiffLine {
  kind: DiffLineKind;
  text: string;
}

export interface IDiffFile {
  path: string;
  lines: IDiffLine[];
}

/** Split a unified diff into files, each line classified for highlighting. */
export function parsePatch(patch: string): IDiffFile[] {
  const files: IDiffFile[] = [];
  let current: IDiffFile | null = null;
  let inHeader = false;
  for (const text of patch.split('\n')) {
    if (text.startsWith('diff --git ')) {
      const match = / b\/(.*)$/.exec(text);
      current = { path: match ? match[1] : text.slice(11), lines: [] };
      files.push(current);
      inHeader = true;
      current.lines.push({ kind: 'meta', text });
      continue;
    }
    if (!current) {
      continue;
    }
    let kind: DiffLineKind;
    if (text.startsWith('@@')) {
      kind = 'hunk';
      inHeader = false;
    } else if (inHeader) {
      kind = 'meta';
      const plus = /^\+\+\+ b\/(.*)$/.exec(text);
      if (plus) {
        current.path = plus[1];
      }
    } else if (text.startsWith('+')) {
      kind = 'add';
    } else if (text.startsWith('-')) {
      kind = 'del';
    } else if (text.startsWith('\\')) {
      kind = 'meta';
    } else {
      kind = 'context';
    }
    current.lines.push({ kind, text });
  }
  for (const file of files) {
    while (
      file.lines.length &&
      file.lines[file.lines.length - 1].kind === 'context' &&
      file.lines[file.lines.length - 1].text === ''
    ) {
      file.lines.pop();
    }
  }
  return files;
}
