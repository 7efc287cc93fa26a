import { LabIcon } from '@jupyterlab/ui-components';

/** A branch with a speech bubble: sessions on their own branch, talking to an agent. */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="6" cy="5" r="2.2"/>
    <circle cx="6" cy="19" r="2.2"/>
    <circle cx="15" cy="9" r="2.2"/>
    <path d="M5.2 6.5h1.6v11h-1.6z"/>
    <path d="M6.8 15.2c0-3 2.1-4.2 4.8-4.9l.4 1.5c-2.2.6-3.6 1.4-3.6 3.4z"/>
    <path d="M13 14h8a1.5 1.5 0 0 1 1.5 1.5v4A1.5 1.5 0 0 1 21 21h-4.5l-2.5 2v-2h-1a1.5 1.5 0 0 1-1.5-1.5v-4A1.5 1.5 0 0 1 13 14z"/>
  </g>
</svg>`;

export const lawlessIcon = new LabIcon({
  name: 'lawless-jupyter:icon',
  svgstr: svg
});
