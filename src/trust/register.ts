/** Trust capability in the viewer: the per-study AI status and switch (toolbar). */
import { registerViewerExtension } from '../viewer/extensions';
import { AiStudySwitch } from './AiStudySwitch';

registerViewerExtension({ id: 'trust', Toolbar: AiStudySwitch });
