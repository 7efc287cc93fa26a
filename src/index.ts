import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'lawless-jupyter:plugin',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    console.log('lawless');
  }
};
export default plugin;
