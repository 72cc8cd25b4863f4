/** Starts the fetches a route needs as early as possible (module + study metadata). */
let viewerModule: Promise<typeof import('../viewer/ViewerPage')> | null = null;

export function loadViewerModule(): Promise<typeof import('../viewer/ViewerPage')> {
  viewerModule ??= import('../viewer/ViewerPage');
  return viewerModule;
}

export function preloadForPath(pathname: string): void {
  if (pathname.startsWith('/viewer/')) void loadViewerModule();
}
