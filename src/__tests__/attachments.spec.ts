/**
 * Attachments: notebook cells as the text Claude receives (sources and outputs), names,
 * the chip list, and @-mentions of worktree files.
 */
import {
  cellsName,
  cellsText,
  dropMention,
  matchFiles,
  MAX_ATTACHMENTS,
  mentionAt,
  notebookText,
  withAttachment
} from '../attachments';

const code = {
  cell_type: 'code',
  execution_count: 3,
  source: ['x = 6\n', 'print(x * 7)\n', 'x'],
  outputs: [
    { output_type: 'stream', name: 'stdout', text: ['42\n'] },
    {
      output_type: 'execute_result',
      data: { 'text/plain': '6', 'text/html': '<b>6</b>' },
      execution_count: 3
    },
    { output_type: 'display_data', data: { 'image/png': 'iVBOR...' } }
  ]
};
const markdown = { cell_type: 'markdown', source: '# Title' };
const failed = {
  cell_type: 'code',
  execution_count: 4,
  source: '1/0',
  outputs: [
    {
      output_type: 'error',
      ename: 'ZeroDivisionError',
      evalue: 'division by zero',
      traceback: ['\u001b[0;31mZeroDivisionError\u001b[0m: division by zero']
    }
  ]
};

describe('cell text', () => {
  it('has the source and the outputs as text, images named, colours dropped', () => {
    expect(cellsText([{ cell: code, index: 2 }])).toBe(
      [
        '# Cell 3 [3]',
        'x = 6',
        'print(x * 7)',
        'x',
        '# Output',
        '42',
        '6',
        '[image/png]'
      ].join('\n')
    );
    expect(cellsText([{ cell: failed, index: 0 }])).toBe(
      '# Cell 1 [4]\n1/0\n# Output\nZeroDivisionError: division by zero'
    );
  });

  it('gives a whole notebook cell after cell', () => {
    expect(notebookText({ cells: [markdown, failed] })).toBe(
      '# Cell 1 (markdown)\n# Title\n\n# Cell 2 [4]\n1/0\n# Output\n' +
        'ZeroDivisionError: division by zero'
    );
    expect(notebookText({})).toBe('');
  });

  it('names the cells by their positions from 1', () => {
    expect(cellsName('nb.ipynb', [2])).toBe('nb.ipynb: cell 3');
    expect(cellsName('nb.ipynb', [0, 3])).toBe('nb.ipynb: cells 1, 4');
  });
});

describe('the chip list', () => {
  it('keeps one attachment per name and at most ten', () => {
    let list = [{ name: 'a', text: 'old' }];
    list = withAttachment(list, { name: 'b', text: 'b' });
    list = withAttachment(list, { name: 'a', text: 'new' });
    expect(list).toEqual([
      { name: 'b', text: 'b' },
      { name: 'a', text: 'new' }
    ]);
    for (let i = 0; i < 12; i++) {
      list = withAttachment(list, { name: `f${i}`, text: '' });
    }
    expect(list.length).toBe(MAX_ATTACHMENTS);
    expect(list[list.length - 1].name).toBe('f11');
  });
});

describe('@-mentions', () => {
  it('finds the word after an @ at the caret', () => {
    expect(mentionAt('look at @src/ap', 15)).toBe('src/ap');
    expect(mentionAt('@', 1)).toBe('');
    expect(mentionAt('mail me@example.com', 19)).toBe(null);
    expect(mentionAt('look at @app then', 17)).toBe(null);
  });

  it('takes the @word out once a file is picked', () => {
    expect(dropMention('look at @ap please', 11)).toEqual({
      draft: 'look at  please',
      caret: 8
    });
    expect(dropMention('no mention', 5)).toEqual({
      draft: 'no mention',
      caret: 5
    });
  });

  it('lists files whose name starts with the word first', () => {
    const files = [
      'README.md',
      'src/app.py',
      'src/mapper.py',
      'notes/apple.txt'
    ];
    expect(matchFiles(files, 'ap')).toEqual([
      'src/app.py',
      'notes/apple.txt',
      'src/mapper.py'
    ]);
    expect(matchFiles(files, 'SRC/')).toEqual(['src/app.py', 'src/mapper.py']);
    expect(matchFiles(files, '', 2)).toEqual(['README.md', 'src/app.py']);
  });
});
