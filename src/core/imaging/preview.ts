/**
 * The first image of a study, drawn without Cornerstone: the raw frame of an uncompressed
 * greyscale image through the modality LUT, the initial window and the display polarity, into RGBA
 * grey. The viewer shows this while the Cornerstone chunk (vtk.js, codecs: seconds to compile on a
 * small machine) is still loading, and Cornerstone then draws the same pixels on top: the rules here
 * are the viewer's own (voi.ts, photometric.ts), so the hand-over is seamless.
 * Pure: a unit test pins each rule on synthetic frames.
 */
import { TAG, num, nums, seq, str, type DicomJson } from './dicomJson';
import { initialVoi, parseVoiFunction, rangeToWindow, voiOutput, type VoiFunction, type VoiRange } from './voi';
import { storedIsInverted } from './photometric';
import { voiLutDescriptorOf } from './voiMeta';

/** Transfer syntaxes whose frame bytes are the pixel values as they are (little endian, native). */
const NATIVE_LITTLE_ENDIAN = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

export interface PreviewGeometry {
  rows: number;
  columns: number;
  /** Row spacing, column spacing (mm); display aspect follows them, as Cornerstone's does. */
  rowSpacing: number;
  columnSpacing: number;
}

export interface PreviewInfo extends PreviewGeometry {
  bitsAllocated: number;
  pixelRepresentation: number;
  samplesPerPixel: number;
  photometric: string;
  slope: number;
  intercept: number;
  modality?: string;
  windowCenter?: number[];
  windowWidth?: number[];
  voiLutDescriptor?: number[];
  /** VOI LUT Function (0028,1056) when not LINEAR. */
  voiFunction?: VoiFunction;
}

/** Display-relevant header fields of one instance's WADO-RS metadata; null when any is missing. */
export function previewInfo(inst: DicomJson): PreviewInfo | null {
  const rows = num(inst, '00280010');
  const columns = num(inst, '00280011');
  const bitsAllocated = num(inst, '00280100');
  if (!rows || !columns || !bitsAllocated) return null;
  const spacing = nums(inst, '00280030') ?? nums(seq(seq(inst, TAG.SharedFunctionalGroupsSequence)[0], '00289110')[0], '00280030');
  const frameVoi = seq(seq(inst, TAG.SharedFunctionalGroupsSequence)[0], '00289132')[0];
  return {
    rows,
    columns,
    rowSpacing: spacing?.[0] && spacing[0] > 0 ? spacing[0] : 1,
    columnSpacing: spacing?.[1] && spacing[1] > 0 ? spacing[1] : 1,
    bitsAllocated,
    pixelRepresentation: num(inst, '00280103') ?? 0,
    samplesPerPixel: num(inst, '00280002') ?? 1,
    photometric: (str(inst, TAG.PhotometricInterpretation) ?? '').trim().toUpperCase(),
    slope: num(inst, TAG.RescaleSlope) ?? 1,
    intercept: num(inst, TAG.RescaleIntercept) ?? 0,
    modality: str(inst, TAG.Modality),
    windowCenter: nums(inst, TAG.WindowCenter) ?? nums(frameVoi, TAG.WindowCenter),
    windowWidth: nums(inst, TAG.WindowWidth) ?? nums(frameVoi, TAG.WindowWidth),
    voiLutDescriptor: voiLutDescriptorOf(inst),
    ...(parseVoiFunction(str(inst, TAG.VOILUTFunction) ?? str(frameVoi, TAG.VOILUTFunction)) !== 'LINEAR' ? { voiFunction: parseVoiFunction(str(inst, TAG.VOILUTFunction) ?? str(frameVoi, TAG.VOILUTFunction)) } : {}),
  };
}

/** Whether this frame can be drawn here (else the viewer simply waits for Cornerstone). */
export function canPreview(info: PreviewInfo, transferSyntax: string, byteLength: number): boolean {
  const mono = info.photometric === 'MONOCHROME1' || info.photometric === 'MONOCHROME2';
  const bits = info.bitsAllocated === 8 || info.bitsAllocated === 16;
  return mono && bits && info.samplesPerPixel === 1 && NATIVE_LITTLE_ENDIAN.has(transferSyntax) && byteLength >= info.rows * info.columns * (info.bitsAllocated / 8);
}

/** Stored values of a native little-endian frame (a view where alignment allows, else a copy). */
function storedValues(frame: Uint8Array, info: PreviewInfo): ArrayLike<number> {
  const n = info.rows * info.columns;
  if (info.bitsAllocated === 8) return info.pixelRepresentation ? new Int8Array(frame.buffer, frame.byteOffset, n) : frame.subarray(0, n);
  const aligned = frame.byteOffset % 2 === 0 ? frame : frame.slice();
  return info.pixelRepresentation ? new Int16Array(aligned.buffer, aligned.byteOffset, n) : new Uint16Array(aligned.buffer, aligned.byteOffset, n);
}

/**
 * The window the viewer opens with: the header's window, else its VOI LUT's range, else the CT
 * default, else the modality-rescaled pixel range (what Cornerstone falls back to).
 */
export function previewWindow(info: PreviewInfo, stored: ArrayLike<number>): VoiRange | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return initialVoi({
    modality: info.modality,
    windowCenter: info.windowCenter,
    windowWidth: info.windowWidth,
    voiLutDescriptor: info.voiLutDescriptor,
    rescaleSlope: info.slope,
    rescaleIntercept: info.intercept,
    minPixel: min,
    maxPixel: max,
  }).range;
}

/**
 * RGBA grey pixels (rows × columns) of a frame: modality LUT, then the VOI over the range (LINEAR,
 * PS3.3 C.11.2.1.2.1, Cornerstone's convention, or the image's VOI LUT Function), then MONOCHROME1 inverted so it reads as film.
 */
export function previewPixels(frame: Uint8Array, info: PreviewInfo): { rgba: Uint8ClampedArray; range: VoiRange | null } {
  const stored = storedValues(frame, info);
  const range = previewWindow(info, stored);
  const n = info.rows * info.columns;
  const rgba = new Uint8ClampedArray(n * 4);
  const lower = range?.lower ?? 0;
  const span = Math.max(1e-9, (range?.upper ?? 1) - lower);
  const invert = storedIsInverted(info.photometric);
  const fn = info.voiFunction;
  const window = range ? rangeToWindow(range) : null;
  // A lookup over the stored values keeps this at one table read per pixel (16-bit: 64 K entries).
  const bits = info.bitsAllocated;
  const offset = info.pixelRepresentation ? 1 << (bits - 1) : 0;
  const lut = new Uint8ClampedArray(1 << bits);
  for (let s = 0; s < lut.length; s++) {
    const modality = (s - offset) * info.slope + info.intercept;
    // LINEAR_EXACT and SIGMOID exactly as the viewer's CPU path draws them (voi.ts).
    const t = fn && range ? voiOutput(modality, window!, fn, 0, 1) : Math.min(1, Math.max(0, (modality - lower) / span));
    lut[s] = Math.round((invert ? 1 - t : t) * 255);
  }
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const g = lut[stored[i] + offset];
    rgba[o] = g;
    rgba[o + 1] = g;
    rgba[o + 2] = g;
    rgba[o + 3] = 255;
  }
  return { rgba, range };
}

/** Where the image sits in a viewport of w × h: fitted whole and centred, as a stack viewport opens. */
export function fitRect(g: PreviewGeometry, w: number, h: number): { x: number; y: number; width: number; height: number } {
  const physW = g.columns * g.columnSpacing;
  const physH = g.rows * g.rowSpacing;
  const scale = Math.min(w / physW, h / physH);
  const width = physW * scale;
  const height = physH * scale;
  return { x: (w - width) / 2, y: (h - height) / 2, width, height };
}
