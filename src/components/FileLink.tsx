/** A file named in the chat or in Changes, opened in JupyterLab (at its line) on click. */
import React from 'react';

import { IFileLink } from '../fileLinks';
import { useTrans } from '../translation';

export function FileLink(props: {
  link: IFileLink;
  open: (link: IFileLink) => void;
  children?: React.ReactNode;
}): JSX.Element {
  const { link } = props;
  const trans = useTrans();
  const title = link.find
    ? trans.__('Open %1 at its change', link.path)
    : link.line !== null
      ? trans.__('Open %1 at line %2', link.path, link.line)
      : trans.__('Open %1', link.path);
  return (
    <button
      className="jp-lawless-filelink"
      title={title}
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
