/** The findings capability in the viewer: overlay, sidebar panel, toolbar items and commands. */
import { registerViewerExtension, type ViewerContext } from '../viewer/extensions';
import { FINDINGS_COMMANDS as C } from './commands';
import { FindingsOverlay } from './Overlay';
import { FindingsPanel } from './Panel';
import { FindingsToolbar } from './Toolbar';
import { useFindingsStore } from './state';
import { stepFinding } from './navigation';
import { accept, cycleType, reject, rejectNextReason, resizeBox, setExtentEnd, signOffKey, undo } from './actions';

export function runFindingsCommand(command: string, ctx: ViewerContext): boolean {
  const set = useFindingsStore.setState;
  const s = useFindingsStore.getState();
  switch (command) {
    case C.toggleOverlays:
      set({ overlaysVisible: !s.overlaysVisible });
      return true;
    case C.toggleHeatmaps:
      set({ heatmapsVisible: !s.heatmapsVisible });
      return true;
    case C.opacityUp:
      set({ heatmapOpacity: Math.min(1, Math.round((s.heatmapOpacity + 0.1) * 100) / 100) });
      return true;
    case C.opacityDown:
      set({ heatmapOpacity: Math.max(0.1, Math.round((s.heatmapOpacity - 0.1) * 100) / 100) });
      return true;
    case C.next:
      void stepFinding(1, ctx);
      return true;
    case C.prev:
      void stepFinding(-1, ctx);
      return true;
    case C.accept:
      void accept();
      return true;
    case C.reject:
      void reject();
      return true;
    case C.rejectReason:
      void rejectNextReason();
      return true;
    case C.grow:
      void resizeBox(1.1);
      return true;
    case C.shrink:
      void resizeBox(1 / 1.1);
      return true;
    case C.cycleType:
      void cycleType();
      return true;
    case C.extentFirst:
      void setExtentEnd('first', ctx);
      return true;
    case C.extentLast:
      void setExtentEnd('last', ctx);
      return true;
    case C.undo:
      void undo();
      return true;
    case C.signoff:
      void signOffKey(ctx.studyInstanceUID);
      return true;
    default:
      return false;
  }
}

registerViewerExtension({
  id: 'findings',
  Overlay: FindingsOverlay,
  Panel: FindingsPanel,
  Toolbar: FindingsToolbar,
  runCommand: runFindingsCommand,
});
