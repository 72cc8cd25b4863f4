/** A study row whose images are still arriving: no image set (fingerprint) yet; admitStudy fills it in at stability. */
export const ARRIVING = 'arriving';
export const ARRIVING_REASON = 'AI reading as images arrive';
