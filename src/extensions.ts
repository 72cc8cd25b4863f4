/**
 * Capability registration modules, imported for their side effects (each calls
 * registerViewerExtension / defineCommands). One import line per capability; the viewer imports
 * this file lazily, so none of it weighs on the worklist or the first image's critical path.
 */
import './findings/register';
import './ai/register';
import './trust/register';
import './report/register';
import './objects/register';
export {};
