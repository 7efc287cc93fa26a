/**
 * The diff tab's plain logic: which files it lists (from `GET .../git/diff`), which of them
 * start collapsed, and the collapsed state the person set while the tab lives.
 */

/** One file of `GET .../git/diff`'s `files`. */
export interface IDiffStat {
  path: string;
  status?: 'added' | 'modified' | 'deleted';
  additions: number;
  deletions: number;
  binary?: boolean;
}

/** What the tab shows for one file. */
export interface IDiffTabFile extends IDiffStat {
  status: 'added' | 'modified' | 'deleted';
  /** A notebook: its diff is nbdime's, opened in its own tab. */
  notebook: boolean;
  /** Too many changed lines to lay out unasked: starts collapsed. */
  big: boolean;
}

/** Above this many changed lines a file starts collapsed (its editors cost to lay out). */
export const BIG_FILE_LINES = 5000;

export type DiffLayout = 'side-by-side' | 'unified';

export function tabFiles(files: IDiffStat[]): IDiffTabFile[] {
  return files.map(file => ({
    ...file,
    status: file.status ?? 'modified',
    binary: file.binary === true,
    notebook: file.path.endsWith('.ipynb'),
    big: file.additions + file.deletions > BIG_FILE_LINES
  }));
}

/** Whether a file's body can show text lines (binary files and notebooks have none here). */
export const hasTextDiff = (file: IDiffTabFile): boolean =>
  !file.binary && !file.notebook;

/**
 * Collapsed files, by path. A path the person never toggled takes its default (big files
 * collapsed); a toggle is kept across refreshes while the tab lives.
 */
export class CollapseState {
  private chosen = new Map<string, boolean>();

  isCollapsed(file: IDiffTabFile): boolean {
    return this.chosen.get(file.path) ?? file.big;
  }

  /** Flip one file; answers whether it is now collapsed. */
  toggle(file: IDiffTabFile): boolean {
    const collapsed = !this.isCollapsed(file);
    this.chosen.set(file.path, collapsed);
    return collapsed;
  }

  /** Collapse or expand every file. */
  setAll(files: IDiffTabFile[], collapsed: boolean): void {
    for (const file of files) {
      this.chosen.set(file.path, collapsed);
    }
  }
}

/** The tab's id: one tab per session and comparison. */
export const diffTabId = (sessionId: string, against: string): string =>
  `jp-lawless-difftab-${sessionId}-${against}`;

/** "+12 −3", or "binary". */
export function statText(file: IDiffTabFile): string {
  return file.binary ? 'binary' : `+${file.additions} −${file.deletions}`;
}

/** The language to highlight a file in: the lab registry's match for its name. */
export interface ILanguageFinder {
  findByFileName(name: string): { name: string } | null;
}

export function languageName(
  registry: ILanguageFinder,
  path: string
): string | null {
  const name = path.split('/').pop() ?? path;
  return registry.findByFileName(name)?.name ?? null;
}
