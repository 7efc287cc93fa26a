import { useEffect, useState } from 'react';

import { IPanelSettings, PanelController } from '../context';

/** The panel's settings, re-rendering when they change. */
export function useSettings(controller: PanelController): IPanelSettings {
  const [settings, setSettings] = useState(controller.settings);
  useEffect(
    () =>
      controller.on('settings', () => setSettings({ ...controller.settings })),
    [controller]
  );
  return settings;
}
