/** A file named in the chat or in Changes, opened in JupyterLab (at its line) on click. */
import React from 'react';

import { IFileLink } from '../fileLinks';

export function FileLink(props: {
  link: IFileLink;
  open: (link: IFileLink) => void;
  children?: React.ReactNode;
}): JSX.Element {
  const { link } = props;
  const where = link.find
    ? ' at its change'
    : link.line !== null
      ? ` at line ${link.line}`
      : '';
  return (
    <button
      className="jp-lawless-filelink"
      title={`Open ${link.path}${where}`}
      onClick={event => {
        event.preventDefault(); // inside a <summary>: open the file, not the card
        event.stopPropagation();
        props.open(link);
      }}
    >
      {props.children ?? link.label}
    </button>
  );
}
