/**
 * Two viewers of one session on a page (the sidebar's chat and a main-area tab): while one
 * reads a turn the session is busy for both, and the other hears of the turn and of an
 * answered approval; a viewer never hears itself, nor another session's news.
 */
import { PageTurnNews, PageTurns } from '../pageTurns';

describe('PageTurns', () => {
  it('keeps a session busy while any viewer reads one of its turns', () => {
    const turns = new PageTurns();
    expect(turns.busy('s')).toBe(false);
    const first = turns.claim('s');
    const second = turns.claim('s');
    expect(turns.busy('s')).toBe(true);
    expect(turns.busy('other')).toBe(false);
    first();
    first(); // a release twice counts once
    expect(turns.busy('s')).toBe(true);
    second();
    expect(turns.busy('s')).toBe(false);
  });

  it('tells the session’s other viewers, not the teller nor other sessions', () => {
    const turns = new PageTurns();
    const [sidebar, tab, elsewhere] = [{}, {}, {}];
    const heard: { [name: string]: PageTurnNews[] } = {
      sidebar: [],
      tab: [],
      elsewhere: []
    };
    turns.listen('s', sidebar, n => heard.sidebar.push(n));
    const offTab = turns.listen('s', tab, n => heard.tab.push(n));
    turns.listen('t', elsewhere, n => heard.elsewhere.push(n));

    const news: PageTurnNews = {
      type: 'started',
      text: 'hello',
      attachments: []
    };
    turns.tell('s', tab, news);
    expect(heard).toEqual({ sidebar: [news], tab: [], elsewhere: [] });

    const answered: PageTurnNews = {
      type: 'answered',
      requestId: 'r1',
      allow: true,
      remember: false
    };
    turns.tell('s', sidebar, answered);
    expect(heard.tab).toEqual([answered]);

    offTab(); // the tab closed
    turns.tell('s', sidebar, news);
    expect(heard.tab).toEqual([answered]);
  });
});
