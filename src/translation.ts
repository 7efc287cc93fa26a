/**
 * The panel's strings in the person's language: JupyterLab's translator loads this
 * extension's bundle (domain: the Python package's name, as jupyterlab-git and jupyter-ai
 * do). React views read it from a context; the default is the untranslated English bundle,
 * so a view rendered without a provider (jest) needs no set-up.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import React, { useContext } from 'react';

export const TRANSLATION_DOMAIN = 'lawless_jupyter';

/** This extension's bundle of a translator (English when there is none). */
export const loadTrans = (
  translator: ITranslator | null | undefined
): TranslationBundle => (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);

/** English, as written: the default of plain functions that compose text. */
export const untranslated = loadTrans(null);

export const TranslationContext =
  React.createContext<TranslationBundle>(untranslated);

/** The bundle of the nearest provider: `const trans = useTrans(); trans.__('Send')`. */
export const useTrans = (): TranslationBundle => useContext(TranslationContext);
