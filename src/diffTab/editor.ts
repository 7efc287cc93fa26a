/**
 * One file's diff as CodeMirror 6 shows it: `@codemirror/merge`'s MergeView (side by side)
 * or `unifiedMergeView` (one column), read-only, highlighted in the file's language, styled
 * by the lab's own editor theme (its CSS variables), unchanged stretches folded away.
 * `@codemirror/state` and `@codemirror/view` are the lab's shared copies (package.json).
 */
import { jupyterTheme } from '@jupyterlab/codemirror';
import { MergeView, unifiedMergeView } from '@codemirror/merge';
import { Compartment, EditorState, Extension } from '@codemirror/state';
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

function readOnly(language: Compartment): Extension[] {
  return [
    lineNumbers(),
    EditorState.readOnly.of(true),
    EditorView.editable.of(false),
    jupyterTheme,
    language.of([])
  ];
}

/**
 * The language comes a frame after the lines: parsing a large file for highlighting took
 * 60-100 ms before the first paint (bench_ui.py); the lines show first, coloured next.
 */
function highlightLater(
  views: EditorView[],
  slot: Compartment,
  language: Extension | null
): void {
  if (!language) {
    return;
  }
  requestAnimationFrame(() =>
    setTimeout(() => {
      for (const view of views) {
        if (view.dom.isConnected) {
          view.dispatch({ effects: slot.reconfigure(language) });
        }
      }
    })
  );
}

export function mountFileDiff(
  parent: HTMLElement,
  texts: IFileTexts,
  layout: DiffLayout,
  language: Extension | null
): IMountedDiff {
  const oldText = texts.old ?? '';
  const newText = texts.new ?? '';
  const slot = new Compartment();
  if (layout === 'side-by-side') {
    const view = new MergeView({
      a: { doc: oldText, extensions: readOnly(slot) },
      b: { doc: newText, extensions: readOnly(slot) },
      parent,
      gutter: true,
      collapseUnchanged: COLLAPSE_UNCHANGED
    });
    highlightLater([view.a, view.b], slot, language);
    return view;
  }
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: newText,
      extensions: [
        ...readOnly(slot),
        unifiedMergeView({
          original: oldText,
          mergeControls: false,
          gutter: true,
          collapseUnchanged: COLLAPSE_UNCHANGED
        })
      ]
    })
  });
  highlightLater([view], slot, language);
  return view;
}
