/**
 * The diff tab's content: every changed file of a session, each with a header (collapse,
 * path, status, +/−, a notebook's "Open notebook diff") and, when expanded, its CodeMirror
 * merge view. Plain DOM in a Lumino widget: a long file list is laid out once, not
 * re-rendered per click. Texts are fetched per file when it is first shown, and kept until
 * the next refresh, so switching layout or re-expanding costs no request.
 */
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { Extension } from '@codemirror/state';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { api } from '../api';
import type { IFileTexts, IMountedDiff } from './editor';
import {
  CollapseState,
  DiffLayout,
  hasTextDiff,
  IDiffTabFile,
  languageName,
  statText,
  tabFiles
} from './model';

export interface IDiffTabOptions {
  sessionId: string;
  against: 'base' | 'head';
  languages: IEditorLanguageRegistry | null;
  /** Opens a notebook's cell-by-cell (nbdime) tab. */
  openNotebook: (path: string) => void;
  trans: TranslationBundle;
}

function button(label: string, onClick: () => void, aria?: string) {
  const node = document.createElement('button');
  node.className = 'jp-mod-styled jp-lawless-difftab-button';
  node.textContent = label;
  if (aria) {
    node.setAttribute('aria-label', aria);
  }
  node.addEventListener('click', onClick);
  return node;
}

export class DiffTabContent extends Widget {
  layoutMode: DiffLayout = 'side-by-side';
  readonly collapse = new CollapseState();
  private files: IDiffTabFile[] = [];
  private texts = new Map<string, Promise<IFileTexts>>();
  private mounted = new Map<string, IMountedDiff>();
  private list = document.createElement('div');
  private summary = document.createElement('span');
  private layoutButtons = new Map<DiffLayout, HTMLButtonElement>();

  constructor(private options: IDiffTabOptions) {
    super();
    this.addClass('jp-lawless-difftab');
    this.list.className = 'jp-lawless-difftab-files';
    this.node.append(this.toolbar(), this.list);
  }

  private toolbar(): HTMLElement {
    const bar = document.createElement('div');
    bar.className = 'jp-lawless-difftab-toolbar';
    const group = document.createElement('span');
    group.setAttribute('role', 'group');
    const trans = this.options.trans;
    group.setAttribute('aria-label', trans.__('Layout'));
    for (const [mode, label] of [
      ['side-by-side', trans.__('Side by side')],
      ['unified', trans.__('Unified')]
    ] as [DiffLayout, string][]) {
      const b = button(label, () => this.setLayout(mode));
      b.setAttribute('aria-pressed', String(mode === this.layoutMode));
      this.layoutButtons.set(mode, b);
      group.appendChild(b);
    }
    this.summary.className = 'jp-lawless-muted';
    bar.append(
      group,
      button(trans.__('Collapse all'), () => this.setAllCollapsed(true)),
      button(trans.__('Expand all'), () => this.setAllCollapsed(false)),
      button(
        trans.__('Refresh'),
        () => void this.refresh(),
        trans.__('Refresh the diff')
      ),
      this.summary
    );
    return bar;
  }

  /** Read the session's diff again and lay out every file. */
  async refresh(): Promise<void> {
    const trans = this.options.trans;
    this.summary.textContent = trans.__('Loading…');
    void import('./editor'); // its code loads while the file list is read
    let diff: any;
    try {
      diff = await api.diff(
        this.options.sessionId,
        this.options.against,
        true // the file list: each file's texts are read when it is shown
      );
    } catch (e) {
      // the files shown stay; the reason is said where the count was
      this.summary.textContent = trans.__(
        'Could not read the diff: %1',
        e instanceof Error ? e.message : String(e)
      );
      return;
    }
    this.files = tabFiles(diff.files ?? []);
    this.texts.clear();
    this.clearList();
    const n = this.files.length;
    this.summary.textContent =
      n === 0
        ? trans.__('No differences.')
        : trans._n('%1 changed file', '%1 changed files', n);
    for (const file of this.files) {
      this.list.appendChild(this.section(file));
    }
    await Promise.all(this.files.map(file => this.fill(file)));
  }

  /** Expand `path`'s file and scroll to it. */
  reveal(path: string | null): void {
    const file = this.files.find(f => f.path === path);
    if (!file) {
      return;
    }
    if (this.collapse.isCollapsed(file)) {
      this.collapse.toggle(file);
      void this.fill(file);
    }
    this.sectionOf(file)?.scrollIntoView({ block: 'start' });
  }

  setLayout(mode: DiffLayout): void {
    this.layoutMode = mode;
    for (const [m, b] of this.layoutButtons) {
      b.setAttribute('aria-pressed', String(m === mode));
    }
    for (const file of this.files) {
      void this.fill(file);
    }
  }

  private setAllCollapsed(collapsed: boolean): void {
    this.collapse.setAll(this.files, collapsed);
    for (const file of this.files) {
      void this.fill(file);
    }
  }

  private section(file: IDiffTabFile): HTMLElement {
    const section = document.createElement('section');
    section.className = 'jp-lawless-difftab-file';
    section.dataset.path = file.path;
    const header = document.createElement('div');
    header.className = 'jp-lawless-difftab-header';
    const toggle = button('', () => {
      this.collapse.toggle(file);
      void this.fill(file);
    });
    toggle.classList.add('jp-lawless-difftab-toggle');
    const path = document.createElement('code');
    path.textContent = file.path;
    const status = document.createElement('span');
    status.className = `jp-lawless-filestatus jp-lawless-fs-${file.status}`;
    status.textContent = file.status;
    const stat = document.createElement('span');
    stat.className = 'jp-lawless-diffstat';
    stat.textContent = file.binary
      ? this.options.trans.__('binary')
      : statText(file);
    header.append(toggle, path, status, stat);
    if (file.notebook) {
      header.appendChild(
        button(
          this.options.trans.__('Open notebook diff'),
          () => this.options.openNotebook(file.path),
          this.options.trans.__('Open the cell-by-cell diff of %1', file.path)
        )
      );
    }
    const body = document.createElement('div');
    body.className = 'jp-lawless-difftab-body';
    section.append(header, body);
    return section;
  }

  /** Show one file's body as its collapsed state and the layout say. */
  private async fill(file: IDiffTabFile): Promise<void> {
    const section = this.sectionOf(file);
    if (!section) {
      return;
    }
    const collapsed = this.collapse.isCollapsed(file);
    const toggle = section.querySelector('.jp-lawless-difftab-toggle')!;
    toggle.textContent = collapsed ? '▸' : '▾';
    toggle.setAttribute('aria-expanded', String(!collapsed));
    toggle.setAttribute(
      'aria-label',
      collapsed
        ? this.options.trans.__('Expand %1', file.path)
        : this.options.trans.__('Collapse %1', file.path)
    );
    const body = section.querySelector<HTMLElement>(
      '.jp-lawless-difftab-body'
    )!;
    this.unmount(file.path);
    body.replaceChildren();
    body.hidden = collapsed;
    if (collapsed) {
      return;
    }
    const trans = this.options.trans;
    if (!hasTextDiff(file)) {
      body.appendChild(
        this.note(
          file.binary
            ? trans.__('Binary file: not shown.')
            : trans.__(
                'A notebook: its cells are compared in the notebook diff.'
              )
        )
      );
      return;
    }
    const layout = this.layoutMode;
    try {
      // the merge view's code loads with the first tab, not with the lab
      const [texts, language, { mountFileDiff }] = await Promise.all([
        this.textsOf(file),
        this.language(file.path),
        import('./editor')
      ]);
      // a later click (layout, collapse, refresh) may have asked for something else
      if (
        layout !== this.layoutMode ||
        this.collapse.isCollapsed(file) ||
        !body.isConnected ||
        body.childElementCount
      ) {
        return;
      }
      if (texts.old === null && file.status === 'added' && !texts.new) {
        body.appendChild(this.note(trans.__('Empty file.')));
        return;
      }
      this.mounted.set(file.path, mountFileDiff(body, texts, layout, language));
    } catch (e) {
      body.appendChild(
        this.note(
          trans.__(
            'Could not show this file: %1',
            e instanceof Error ? e.message : String(e)
          )
        )
      );
    }
  }

  private sectionOf(file: IDiffTabFile): HTMLElement | null {
    return this.list.querySelector<HTMLElement>(
      `section[data-path="${CSS.escape(file.path)}"]`
    );
  }

  private textsOf(file: IDiffTabFile): Promise<IFileTexts> {
    let texts = this.texts.get(file.path);
    if (!texts) {
      texts = api.fileVersions(
        this.options.sessionId,
        file.path,
        this.options.against
      );
      this.texts.set(file.path, texts);
      texts.catch(() => this.texts.delete(file.path));
    }
    return texts;
  }

  private async language(path: string): Promise<Extension | null> {
    const registry = this.options.languages;
    const name = registry ? languageName(registry, path) : null;
    if (!registry || !name) {
      return null;
    }
    return (await registry.getLanguage(name))?.support ?? null;
  }

  private note(text: string): HTMLElement {
    const div = document.createElement('div');
    div.className = 'jp-lawless-muted jp-lawless-difftab-note';
    div.textContent = text;
    return div;
  }

  private unmount(path: string): void {
    this.mounted.get(path)?.destroy();
    this.mounted.delete(path);
  }

  private clearList(): void {
    for (const path of [...this.mounted.keys()]) {
      this.unmount(path);
    }
    this.list.replaceChildren();
  }

  dispose(): void {
    if (!this.isDisposed) {
      this.clearList();
    }
    super.dispose();
  }
}
