/**
 * "The stored measurements of a study changed in this page": told by the measurement sync after the
 * server answered a save or a delete, heard by whoever shows them beside the image (the report's
 * measurement table). An event rather than a poll: the table follows at once, and an idle viewer makes
 * no requests. No dependencies, so that a listener does not pull the viewer's code in.
 */
const EVENT = 'rs:measurements-changed';

export function notifyMeasurementsChanged(studyUID: string): void {
  window.dispatchEvent(new CustomEvent<string>(EVENT, { detail: studyUID }));
}

/** Calls `fn` when the measurements of `studyUID` change in this page; returns the unsubscribe. */
export function onMeasurementsChanged(studyUID: string, fn: () => void): () => void {
  const listener = (e: Event) => void ((e as CustomEvent<string>).detail === studyUID && fn());
  window.addEventListener(EVENT, listener);
  return () => window.removeEventListener(EVENT, listener);
}
