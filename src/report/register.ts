/** The report capability in the viewer: its panel (below the findings panel) and its key. */
import { registerViewerExtension } from '../viewer/extensions';
import { defineCommands } from '../core/commands/commands';
import { ReportPanel, focusReport } from './ReportPanel';

export const REPORT_COMMANDS = { focus: 'report.focus' } as const;

defineCommands([{ command: REPORT_COMMANDS.focus, label: 'Report: go to the first AI-suggested line (Ctrl+Enter accepts a line and moves on, Esc leaves)', keys: ['e'], group: 'Report' }]);

registerViewerExtension({
  id: 'report',
  Panel: ReportPanel,
  runCommand: (command) => {
    if (command !== REPORT_COMMANDS.focus) return false;
    focusReport();
    return true;
  },
});
