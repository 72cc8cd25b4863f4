/** The AI capability in the viewer: the status area, and (for tests and the benchmark) a page hook. */
import { registerViewerExtension } from '../viewer/extensions';
import { AiToolbar } from './Toolbar';
import { installAiTestHook } from './testing';

registerViewerExtension({ id: 'ai', Toolbar: AiToolbar });
installAiTestHook();
