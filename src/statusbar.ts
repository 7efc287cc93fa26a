/**
 * The status bar item with worker health: "Workers: up / degraded / down", the details
 * on hover and, on click, in a dialog. Polls every 30 s, and not while the tab is hidden.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { ApiError, request } from './api';
import { loadTrans, untranslated } from './translation';
import { healthOf, healthOfError, IHealth, IWorkersStatus } from './workers';

const POLL_INTERVAL_MS = 30_000;

/** Asks the server once; never throws (a failure is a health state too). */
export async function fetchHealth(
  trans: TranslationBundle = untranslated
): Promise<IHealth> {
  try {
    const body = await request<IWorkersStatus>('api/workers/status', {
      what: t => t.__('the worker status')
    });
    return healthOf(body, trans);
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0;
    return healthOfError(status, (error as Error).message, trans);
  }
}

export class WorkerStatusItem extends Widget {
  private health: IHealth | null = null;
  private readonly dot = document.createElement('span');
  private readonly text = document.createElement('span');

  constructor(private readonly trans: TranslationBundle = untranslated) {
    super();
    this.addClass('jp-lawless-workers');
    this.node.tabIndex = 0;
    this.node.setAttribute('role', 'button');
    this.dot.className = 'jp-lawless-workers-dot';
    this.dot.setAttribute('aria-hidden', 'true');
    this.node.append(this.dot, this.text);
    this.show_({
      state: 'unknown',
      label: trans.__('Workers: …'),
      details: [trans.__('Asking the server…')]
    });
    this.node.addEventListener('click', () => void this.openDetails());
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        void this.openDetails();
      }
    });
  }

  /** The state shown now (for the details dialog and tests). */
  get current(): IHealth | null {
    return this.health;
  }

  show_(health: IHealth): void {
    this.health = health;
    this.node.dataset.state = health.state;
    this.text.textContent = health.label;
    this.node.title = [health.label, ...health.details].join('\n');
    this.node.setAttribute(
      'aria-label',
      this.trans.__('%1. Show the worker details.', health.label)
    );
  }

  private async openDetails(): Promise<void> {
    const health = this.health;
    if (!health) {
      return;
    }
    const body = document.createElement('ul');
    body.className = 'jp-lawless-workers-details';
    for (const line of health.details) {
      const li = document.createElement('li');
      li.textContent = line;
      body.append(li);
    }
    await showDialog({
      title: health.label,
      body: new Widget({ node: body }),
      buttons: [Dialog.okButton({ label: this.trans.__('Close') })]
    });
  }
}

export const workersPlugin: JupyterFrontEndPlugin<void> = {
  id: 'lawless-jupyter:workers',
  description: 'Worker health in the status bar.',
  autoStart: true,
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ) => {
    if (!statusBar) {
      return; // e.g. a front end without a status bar
    }
    const trans = loadTrans(translator);
    const item = new WorkerStatusItem(trans);
    statusBar.registerStatusItem('lawless-jupyter:workers', {
      item,
      align: 'left',
      rank: 50
    });
    const poll = new Poll({
      factory: async () => item.show_(await fetchHealth(trans)),
      frequency: { interval: POLL_INTERVAL_MS, backoff: false },
      standby: 'when-hidden', // no requests from a tab nobody looks at
      name: 'lawless-jupyter:workers',
      auto: false
    });
    void app.restored.then(() => poll.start());
  }
};
