/** The result-objects capability in the viewer (SEG, parametric map, GSPS, KOS, SR): overlay and panel. */
import { registerViewerExtension } from '../viewer/extensions';
import { ObjectsOverlay } from './Overlay';
import { ObjectsPanel } from './Panel';

registerViewerExtension({ id: 'objects', Overlay: ObjectsOverlay, Panel: ObjectsPanel });
