/**
 * One file's diff as CodeMirror 6 shows it: `@codemirror/merge`'s MergeView (side by side)
 * or `unifiedMergeView` (one column), read-only, highlighted in the file's language, styled
 * by the lab's own editor theme (its CSS variables), unchanged stretches folded away.
 * `@codemirror/state` and `@codemirror/view` are the lab's shared copies (package.json).
 */
import { jupyterTheme } from '@jupyterlab/codemirror';
import { MergeView, unifiedMergeView } from '@codemirror/merge';
import { EditorState, Extension } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';

import { DiffLayout } from './model';

/** Unchanged stretches longer than this fold to a "N unchanged lines" bar. */
const COLLAPSE_UNCHANGED = { margin: 3, minSize: 6 };

export interface IFileTexts {
  old: string | null;
  new: string | null;
}

/** A mounted diff; `destroy` frees its editors. */
export interface IMountedDiff {
  destroy(): void;
}

function readOnly(language: Extension | null): Extension[] {
  return [
    lineNumbers(),
    EditorState.readOnly.of(true),
    EditorView.editable.of(false),
    jupyterTheme,
    language ?? []
  ];
}

export function mountFileDiff(
  parent: HTMLElement,
  texts: IFileTexts,
  layout: DiffLayout,
  language: Extension | null
): IMountedDiff {
  const oldText = texts.old ?? '';
  const newText = texts.new ?? '';
  if (layout === 'side-by-side') {
    const view = new MergeView({
      a: { doc: oldText, extensions: readOnly(language) },
      b: { doc: newText, extensions: readOnly(language) },
      parent,
      gutter: true,
      collapseUnchanged: COLLAPSE_UNCHANGED
    });
    return view;
  }
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: newText,
      extensions: [
        ...readOnly(language),
        unifiedMergeView({
          original: oldText,
          mergeControls: false,
          gutter: true,
          collapseUnchanged: COLLAPSE_UNCHANGED
        })
      ]
    })
  });
  return view;
}
