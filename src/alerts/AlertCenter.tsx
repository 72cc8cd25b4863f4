/** Critical-finding alerts for the on-call role (filled in below once the SSE stream exists). */
export default function AlertCenter(): null {
  return null;
}
