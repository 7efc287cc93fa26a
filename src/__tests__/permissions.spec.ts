import { currentMode, PERMISSION_MODES, withMode } from '../permissions';

describe('the permission mode preference', () => {
  it('reads the saved mode, or the server default', () => {
    expect(currentMode({ permission_mode: 'ask' })).toBe('ask');
    expect(currentMode({})).toBe('default');
    expect(currentMode({ permission_mode: 'yolo' })).toBe('default');
  });

  it('keeps the other preferences when the mode changes', () => {
    const before = { model: 'claude-haiku-4-5', panel: { width: 400 } };
    expect(withMode(before, 'read_only')).toEqual({
      ...before,
      permission_mode: 'read_only'
    });
    expect(before).toEqual({
      model: 'claude-haiku-4-5',
      panel: { width: 400 }
    });
  });

  it('offers every mode the server knows', () => {
    expect(PERMISSION_MODES.map(m => m.mode)).toEqual([
      'default',
      'ask',
      'read_only',
      'trusted'
    ]);
  });
});
