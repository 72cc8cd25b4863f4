/**
 * The VOI an image asks for, read from its DICOM JSON (WADO-RS metadata): VOI LUT Function, the first
 * window, and the first VOI LUT Sequence item with its data (as a Value list of US, or as InlineBinary
 * OW words, little endian). Pure: the viewer's CPU path turns it into a display table (voi.ts).
 */
import { TAG, num, nums, seq, str, type DicomJson } from './dicomJson';
import { parseVoiFunction, parseVoiLut, rangeToWindow, type DisplayVoi, type VoiFunction, type VoiLut, type VoiRange, type Window } from './voi';

export interface ImageVoi {
  fn: VoiFunction;
  window: Window | null;
  lut: VoiLut | null;
}

/** OW LUT Data bytes (little endian words) as numbers. */
export function lutWordsOf(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}

function lutWords(item: DicomJson | undefined): ArrayLike<number> | undefined {
  const el = item?.[TAG.LUTData] as { Value?: unknown[]; InlineBinary?: string } | undefined;
  if (!el) return undefined;
  if (Array.isArray(el.Value) && el.Value.length) return el.Value.map(Number);
  if (typeof el.InlineBinary === 'string') return lutWordsOf(Uint8Array.from(atob(el.InlineBinary), (c) => c.charCodeAt(0)));
  return undefined;
}

/**
 * The descriptor's first value mapped is US or SS as the Pixel Representation says (C.11.2.1.1);
 * metadata written as US gives a negative first value as 65536 − n.
 */
function signedDescriptor(d: number[] | undefined, pixelRepresentation: number | undefined): number[] | undefined {
  if (!d || d.length < 3 || pixelRepresentation !== 1 || d[1] < 32768) return d;
  return [d[0], d[1] - 65536, d[2]];
}

/** LUT Descriptor of the first VOI LUT Sequence item, its first value mapped signed where the pixels are. */
export function voiLutDescriptorOf(inst: DicomJson): number[] | undefined {
  return signedDescriptor(nums(seq(inst, TAG.VOILUTSequence)[0], TAG.LUTDescriptor), num(inst, TAG.PixelRepresentation));
}

export function imageVoiOf(inst: DicomJson): ImageVoi {
  const frameVoi = seq(seq(inst, TAG.SharedFunctionalGroupsSequence)[0], TAG.FrameVOILUTSequence)[0];
  const c = nums(inst, TAG.WindowCenter) ?? nums(frameVoi, TAG.WindowCenter);
  const w = nums(inst, TAG.WindowWidth) ?? nums(frameVoi, TAG.WindowWidth);
  const item = seq(inst, TAG.VOILUTSequence)[0];
  return {
    fn: parseVoiFunction(str(inst, TAG.VOILUTFunction) ?? str(frameVoi, TAG.VOILUTFunction)),
    window: c?.length && w?.length && w[0] > 0 ? { center: c[0], width: w[0] } : null,
    lut: parseVoiLut(signedDescriptor(nums(item, TAG.LUTDescriptor), num(inst, TAG.PixelRepresentation)), lutWords(item)),
  };
}

/**
 * What the CPU path must draw exactly, or null where Cornerstone's own linear window already is
 * C.11.2.1.2.1 (LINEAR, no LUT in use). `range` is the window in effect in the viewer's convention
 * (windowToRange); the image's VOI LUT is used while no window has been chosen over it (no header
 * window, and the range is still the one initialVoi took from the LUT), as the standard has it.
 */
export function exactDisplayVoi(voi: ImageVoi, range: VoiRange | null): DisplayVoi | null {
  if (voi.lut && !voi.window) {
    const lutRange = { lower: voi.lut.firstMapped, upper: voi.lut.firstMapped + voi.lut.data.length - 1 };
    if (!range || (range.lower === lutRange.lower && range.upper === lutRange.upper)) return { kind: 'lut', lut: voi.lut };
  }
  if (voi.fn === 'LINEAR') return null;
  const window = range ? rangeToWindow(range) : voi.window;
  return window ? { kind: 'function', window, fn: voi.fn } : null;
}

/** Modality-value bounds of a decoded image (Cornerstone's fields), for the display table. */
export function modalityBounds(image: { minPixelValue: number; maxPixelValue: number; slope?: number; intercept?: number; isPreScaled?: boolean }): [number, number] {
  if (image.isPreScaled) return [image.minPixelValue, image.maxPixelValue];
  const s = image.slope ?? 1;
  const b = image.intercept ?? 0;
  const a1 = image.minPixelValue * s + b;
  const a2 = image.maxPixelValue * s + b;
  return [Math.min(a1, a2), Math.max(a1, a2)];
}

