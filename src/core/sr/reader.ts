/**
 * Tolerant TID 1500 reader: a naturalized SR dataset -> Findings (the one model), plus warnings.
 * Real SRs from other tools bend the template (missing Finding codes, retired codes, CIRCLE and
 * ELLIPSE regions, no confidence): each bend is a warning, never a crash, and a measurement group
 * that cannot be tied to an image is skipped with a warning naming it.
 */
import { FindingSchema, describeIssues, type Code, type Finding, type FindingInput, type ModelRef, type Region, type Box, type ImageRef } from '../findings/finding.js';
import { CODES, sameCode } from './codes.js';
import type { Dataset } from './dicom.js';
import { mapToImage, points3, type PlacedImage } from '../objects/scoord3d.js';

export interface ReadOptions {
  /**
   * The study's images placed in patient space, for a Frame of Reference UID (undefined: the SCOORD3D
   * names none). Without it a SCOORD3D region cannot be tied to a pixel and is skipped with a warning;
   * with it the region lands on the image it lies on, as a box or polygon like any SCOORD.
   */
  geometry?: (frameOfReferenceUID: string | undefined) => readonly PlacedImage<ImageRef>[];
}

export interface ReadResult {
  findings: Finding[];
  warnings: string[];
  /** Document-level facts a caller may want (flags, observer) without re-walking the tree. */
  document: {
    sopInstanceUID?: string;
    studyInstanceUID?: string;
    verificationFlag?: string;
    completionFlag?: string;
    preliminaryFlag?: string;
    personObserver?: string;
    deviceObserver?: { uid?: string; name?: string; manufacturer?: string; model?: string };
    predecessorSopInstanceUIDs: string[];
  };
}

/** Sequences come as arrays from dcmjs, but a hand-built or older dataset may hold a single object. */
export function items(v: unknown): Dataset[] {
  if (Array.isArray(v)) return v.filter((x): x is Dataset => !!x && typeof x === 'object');
  if (v && typeof v === 'object') return [v as Dataset];
  return [];
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.length ? str(v[0]) : undefined;
  if (typeof v === 'object') {
    // dcmjs PersonName: { Alphabetic: '...' }
    const a = (v as { Alphabetic?: unknown }).Alphabetic;
    return a === undefined ? undefined : String(a);
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function num(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function codeOf(seq: unknown): Code | undefined {
  const it = items(seq)[0];
  if (!it) return undefined;
  const value = str(it.CodeValue) ?? str(it.LongCodeValue) ?? str(it.URNCodeValue);
  const scheme = str(it.CodingSchemeDesignator) ?? (str(it.URNCodeValue) ? 'URN' : undefined);
  const meaning = str(it.CodeMeaning) ?? value;
  if (!value || !scheme || !meaning) return undefined;
  return { value, scheme, meaning };
}

/** Concept name match by code, falling back to the meaning (tools that write codes wrongly still name them). */
function is(item: Dataset, code: Code): boolean {
  const c = codeOf(item.ConceptNameCodeSequence);
  if (!c) return false;
  return sameCode(c, code) || c.meaning.toLowerCase() === code.meaning.toLowerCase();
}

function children(item: Dataset): Dataset[] {
  return items(item.ContentSequence);
}

function find(list: Dataset[], code: Code, valueType?: string): Dataset | undefined {
  return list.find((i) => is(i, code) && (!valueType || i.ValueType === valueType));
}

function textOf(item: Dataset | undefined): string | undefined {
  if (!item) return undefined;
  return str(item.TextValue) ?? str(item.UID) ?? str(item.PersonName) ?? codeOf(item.ConceptCodeSequence)?.meaning;
}

/** Instance -> series map from the evidence sequences, since IMAGE items name only the instance. */
function evidenceSeries(ds: Dataset): Map<string, string> {
  const m = new Map<string, string>();
  for (const key of ['CurrentRequestedProcedureEvidenceSequence', 'PertinentOtherEvidenceSequence', 'PredecessorDocumentsSequence']) {
    for (const study of items(ds[key])) {
      for (const series of items(study.ReferencedSeriesSequence)) {
        const s = str(series.SeriesInstanceUID);
        if (!s) continue;
        for (const sop of items(series.ReferencedSOPSequence)) {
          const i = str(sop.ReferencedSOPInstanceUID);
          if (i) m.set(i, s);
        }
      }
    }
  }
  return m;
}

interface RawRef {
  sopClassUID?: string;
  sopInstanceUID: string;
  frames: number[];
}

function imageRefOf(item: Dataset): RawRef | undefined {
  const sop = items(item.ReferencedSOPSequence)[0];
  const inst = sop && str(sop.ReferencedSOPInstanceUID);
  if (!inst) return undefined;
  const fr = sop.ReferencedFrameNumber;
  const frames = (Array.isArray(fr) ? fr : fr === undefined || fr === null || fr === '' ? [] : [fr]).map(Number).filter((n) => Number.isInteger(n) && n >= 1);
  return { sopClassUID: str(sop.ReferencedSOPClassUID), sopInstanceUID: inst, frames };
}

function points(data: unknown): [number, number][] {
  const flat = (Array.isArray(data) ? data : ArrayBuffer.isView(data) ? Array.from(data as unknown as ArrayLike<number>) : []).map(Number);
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

function bbox(pts: [number, number][], minSize = 1): Box {
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  // A point or a straight line has no area; give it a minimal box centred on it so it stays visible.
  if (x1 - x0 < minSize) { const c = (x0 + x1) / 2; x0 = c - minSize / 2; x1 = c + minSize / 2; }
  if (y1 - y0 < minSize) { const c = (y0 + y1) / 2; y0 = c - minSize / 2; y1 = c + minSize / 2; }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

const EPS = 1e-3;
const eq = (a: number, b: number) => Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));

/** A closed 5-point POLYLINE whose edges are axis-parallel is the DICOM spelling of a box. */
export function polylineAsBox(pts: [number, number][]): Box | undefined {
  if (pts.length !== 5) return undefined;
  const [a, , , , e] = pts;
  if (!eq(a[0], e[0]) || !eq(a[1], e[1])) return undefined;
  for (let i = 0; i < 4; i++) {
    const p = pts[i], q = pts[i + 1];
    if (!eq(p[0], q[0]) && !eq(p[1], q[1])) return undefined;
  }
  const b = bbox(pts.slice(0, 4), 0);
  return b.width > 0 && b.height > 0 ? b : undefined;
}

/** Geometry of one SCOORD, in the Finding model's terms. */
export function geometryOf(graphicType: string, pts: [number, number][], warn: (w: string) => void): Pick<Region, 'box' | 'polygon'> {
  switch (graphicType) {
    case 'POLYLINE':
    case 'POLYGON': {
      const box = graphicType === 'POLYLINE' ? polylineAsBox(pts) : undefined;
      if (box) return { box };
      const closed = pts.length > 3 && eq(pts[0][0], pts[pts.length - 1][0]) && eq(pts[0][1], pts[pts.length - 1][1]);
      const poly = closed ? pts.slice(0, -1) : pts;
      if (poly.length >= 3) return { polygon: poly };
      warn(`${graphicType} with ${pts.length} point(s) is a line, not a region: kept as the box around it`);
      return { box: bbox(pts) };
    }
    case 'POINT':
    case 'MULTIPOINT':
      warn(`${graphicType} region: kept as a box around the point(s)`);
      return { box: bbox(pts) };
    case 'CIRCLE': {
      if (pts.length < 2) break;
      const [[cx, cy], [px, py]] = pts;
      const r = Math.hypot(px - cx, py - cy);
      if (r > 0) return { box: { x: cx - r, y: cy - r, width: 2 * r, height: 2 * r } };
      break;
    }
    case 'ELLIPSE': {
      if (pts.length < 4) break;
      // Major axis endpoints, then minor axis endpoints: the bounding box of the rotated ellipse.
      const [m1, m2, n1, n2] = pts;
      const cx = (m1[0] + m2[0]) / 2, cy = (m1[1] + m2[1]) / 2;
      const ax = (m2[0] - m1[0]) / 2, ay = (m2[1] - m1[1]) / 2;
      const bx = (n2[0] - n1[0]) / 2, by = (n2[1] - n1[1]) / 2;
      const hw = Math.hypot(ax, bx), hh = Math.hypot(ay, by);
      if (hw > 0 && hh > 0) return { box: { x: cx - hw, y: cy - hh, width: 2 * hw, height: 2 * hh } };
      break;
    }
  }
  if (pts.length) {
    warn(`${graphicType || 'unknown'} region with ${pts.length} point(s): kept as the box around it`);
    return { box: bbox(pts) };
  }
  warn(`${graphicType || 'unknown'} region without points: kept as an image-level reference`);
  return {};
}

function dicomDateTime(date?: string, time?: string): string | undefined {
  if (!date || !/^\d{8}$/.test(date)) return undefined;
  const t = (time ?? '000000').padEnd(6, '0');
  const iso = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/** DT value (YYYYMMDDHHMMSS.FFFFFF&ZZXX) -> ISO 8601. */
export function dicomDT(dt?: string): string | undefined {
  if (!dt) return undefined;
  const m = /^(\d{8})(\d{0,6})(?:\.\d+)?([+-]\d{4})?$/.exec(dt.trim());
  if (!m) return undefined;
  const base = dicomDateTime(m[1], m[2]);
  if (!base || !m[3]) return base;
  return base.replace('Z', `${m[3].slice(0, 3)}:${m[3].slice(3)}`);
}

interface ObserverContext {
  person?: string;
  device?: { uid?: string; name?: string; manufacturer?: string; model?: string };
}

function observerContext(list: Dataset[]): ObserverContext {
  const ctx: ObserverContext = {};
  for (const it of list) {
    if (it.RelationshipType !== 'HAS OBS CONTEXT') continue;
    if (is(it, CODES.personObserverName)) ctx.person = textOf(it);
    else if (is(it, CODES.deviceObserverUID)) (ctx.device ??= {}).uid = textOf(it);
    else if (is(it, CODES.deviceObserverName)) (ctx.device ??= {}).name = textOf(it);
    else if (is(it, CODES.deviceObserverManufacturer)) (ctx.device ??= {}).manufacturer = textOf(it);
    else if (is(it, CODES.deviceObserverModelName)) (ctx.device ??= {}).model = textOf(it);
  }
  return ctx;
}

/** TID 4019 items may sit in the group or under any NUM in it (PixelMed's reading of TID 1419). */
function algorithmOf(group: Dataset[]): { name?: string; version?: string; parameters?: string } {
  const scopes = [group, ...group.filter((i) => i.ValueType === 'NUM' || i.ValueType === 'CODE').map(children)];
  for (const s of scopes) {
    const name = textOf(find(s, CODES.algorithmName));
    if (name) return { name, version: textOf(find(s, CODES.algorithmVersion)), parameters: textOf(find(s, CODES.algorithmParameters)) };
  }
  return {};
}

function unitCode(mv: Dataset): Code | undefined {
  return codeOf(mv.MeasurementUnitsCodeSequence);
}

function numValue(item: Dataset): { value: number; unit?: Code } | undefined {
  const mv = items(item.MeasuredValueSequence)[0];
  if (!mv) return undefined;
  const value = num(mv.NumericValue);
  return value === undefined ? undefined : { value, unit: unitCode(mv) };
}

const UNSPECIFIED_FINDING: Code = { value: 'RS-UNSPECIFIED', scheme: '99RS', meaning: 'Unspecified finding' };

const VERDICT_COMMENT = /^(modified|rejected)(?:\s*\(([a-z-]+)\))?(?:[:;]\s*(?:replaces AI finding\s+(\S+))?)?\s*(.*)$/i;

/** Reads a TID 1500 Imaging Measurement Report. Never throws on content; throws only if `dataset` is not an object. */
export function readMeasurementReport(dataset: Dataset, opts: ReadOptions = {}): ReadResult {
  if (!dataset || typeof dataset !== 'object') throw new TypeError('readMeasurementReport needs a naturalized dataset');
  const warnings: string[] = [];
  const findings: Finding[] = [];
  const studyInstanceUID = str(dataset.StudyInstanceUID);
  const document: ReadResult['document'] = {
    sopInstanceUID: str(dataset.SOPInstanceUID),
    studyInstanceUID,
    verificationFlag: str(dataset.VerificationFlag),
    completionFlag: str(dataset.CompletionFlag),
    preliminaryFlag: str(dataset.PreliminaryFlag),
    predecessorSopInstanceUIDs: items(dataset.PredecessorDocumentsSequence)
      .flatMap((s) => items(s.ReferencedSeriesSequence))
      .flatMap((s) => items(s.ReferencedSOPSequence))
      .map((s) => str(s.ReferencedSOPInstanceUID))
      .filter((s): s is string => !!s),
  };

  if (str(dataset.ValueType) !== 'CONTAINER' || !codeOf(dataset.ConceptNameCodeSequence)) {
    warnings.push('root is not a CONTAINER with a concept name: not a structured report content tree');
    return { findings, warnings, document };
  }
  if (!is(dataset, CODES.imagingMeasurementReport)) {
    warnings.push(`root concept is ${codeOf(dataset.ConceptNameCodeSequence)?.meaning}, not Imaging Measurement Report (TID 1500): reading it anyway`);
  }
  if (!studyInstanceUID) {
    warnings.push('StudyInstanceUID missing: findings cannot be placed in a study');
    return { findings, warnings, document };
  }

  const root = children(dataset);
  const obs = observerContext(root);
  document.personObserver = obs.person;
  document.deviceObserver = obs.device;
  const verifier = items(dataset.VerifyingObserverSequence)[0];
  const verifiedBy = (verifier && str(verifier.VerifyingObserverName)) ?? obs.person;
  const verifiedAt =
    (verifier && dicomDT(str(verifier.VerificationDateTime))) ?? dicomDateTime(str(dataset.ContentDate), str(dataset.ContentTime));
  const series = evidenceSeries(dataset);
  const sopClasses = new Map<string, string>();

  const measurements = find(root, CODES.imagingMeasurements, 'CONTAINER');
  if (!measurements) {
    warnings.push('no Imaging Measurements container: no findings');
    return { findings, warnings, document };
  }
  const groups = children(measurements).filter((g) => g.ValueType === 'CONTAINER');
  const merged = new Map<string, FindingInput & { regions: Region[] }>();
  groups.forEach((g, gi) => {
    const where = `measurement group ${gi + 1}`;
    const warn = (w: string) => warnings.push(`${where}: ${w}`);
    const list = children(g);
    const trackingId = textOf(find(list, CODES.trackingIdentifier));
    const trackingUID = textOf(find(list, CODES.trackingUID));
    if (!trackingId) warn('no Tracking Identifier');
    if (!trackingUID) warn('no Tracking Unique Identifier');

    const findingItem = find(list, CODES.finding, 'CODE');
    let type = findingItem ? codeOf(findingItem.ConceptCodeSequence) : undefined;
    if (!type) {
      warn('no Finding code (121071, DCM): typed as unspecified');
      type = UNSPECIFIED_FINDING;
    }
    const siteItem = find(list, CODES.findingSite, 'CODE');
    const findingSite = siteItem ? codeOf(siteItem.ConceptCodeSequence) : undefined;

    // Regions: every SCOORD with its SELECTED FROM image.
    const regions: Region[] = [];
    const toImage = (ref: RawRef, frame?: number): ImageRef | undefined => {
      const s = series.get(ref.sopInstanceUID);
      if (!s) {
        warn(`image ${ref.sopInstanceUID} is not listed in the evidence sequences: its series is unknown, region skipped`);
        return undefined;
      }
      if (ref.sopClassUID) sopClasses.set(ref.sopInstanceUID, ref.sopClassUID);
      return { seriesInstanceUID: s, sopInstanceUID: ref.sopInstanceUID, sopClassUID: ref.sopClassUID, ...(frame ? { frameNumber: frame } : {}) };
    };
    for (const sc of list.filter((i) => i.ValueType === 'SCOORD' || i.ValueType === 'SCOORD3D')) {
      if (sc.ValueType === 'SCOORD3D') {
        const images = opts.geometry?.(str(sc.ReferencedFrameOfReferenceUID));
        if (!images) {
          warn('SCOORD3D region is in patient coordinates; without the image geometry it is not mapped to pixels (skipped)');
          continue;
        }
        const mapped = mapToImage(points3(sc.GraphicData), images);
        if (!mapped) {
          warn("SCOORD3D region lies on none of the study's images (farther than half a slice from each): skipped");
          continue;
        }
        const type = str(sc.GraphicType) ?? '';
        // An ELLIPSOID has no 2D spelling: the box around its axes' end points on the slice it lies on.
        regions.push({ image: mapped.ref, ...geometryOf(type === 'ELLIPSOID' ? 'MULTIPOINT' : type, mapped.points, warn) });
        continue;
      }
      const img = children(sc).find((c) => c.ValueType === 'IMAGE');
      const ref = img && imageRefOf(img);
      if (!ref) {
        warn('SCOORD without a SELECTED FROM image: skipped');
        continue;
      }
      const geo = geometryOf(str(sc.GraphicType) ?? '', points(sc.GraphicData), warn);
      for (const frame of ref.frames.length ? ref.frames : [undefined]) {
        const image = toImage(ref, frame);
        if (image) regions.push({ image, ...geo });
      }
    }
    if (!regions.length) {
      // Image-level finding (TID 1501) or a segmentation reference: any IMAGE below the group, without geometry.
      const imgs: Dataset[] = [];
      const walk = (l: Dataset[]) => l.forEach((c) => (c.ValueType === 'IMAGE' ? imgs.push(c) : walk(children(c))));
      walk(list);
      for (const img of imgs) {
        const ref = imageRefOf(img);
        if (!ref) continue;
        for (const frame of ref.frames.length ? ref.frames : [undefined]) {
          const image = toImage(ref, frame);
          if (image && !regions.some((r) => r.image.sopInstanceUID === image.sopInstanceUID && r.image.frameNumber === image.frameNumber)) regions.push({ image });
        }
      }
    }
    if (!regions.length) {
      warn(`${trackingId ?? type.meaning}: no image reference at all, group skipped`);
      return;
    }

    // Confidence and other measurements.
    let confidence: number | undefined;
    const measurementsOut: Finding['measurements'] = [];
    for (const n of list.filter((i) => i.ValueType === 'NUM')) {
      const name = codeOf(n.ConceptNameCodeSequence);
      const v = numValue(n);
      if (!name || !v) {
        warn(`NUM ${name?.meaning ?? '(no name)'} without a value: ignored`);
        continue;
      }
      if (sameCode(name, CODES.certaintyOfFinding)) {
        const c = v.unit?.value === '%' ? v.value / 100 : v.value;
        if (c < 0 || c > 1) warn(`Certainty of Finding ${v.value} ${v.unit?.value ?? ''} is outside 0..1 after scaling: clamped`);
        confidence = Math.min(1, Math.max(0, c));
      } else {
        measurementsOut.push({ name, value: v.value, unit: v.unit ?? CODES.unity });
      }
    }
    // No certainty stated: the number stays 1 for the policy's thresholds as before, but the finding is
    // marked so that no view shows it as 100 %.
    const confidenceStated = confidence !== undefined;
    if (confidence === undefined) {
      warn('no Certainty of Finding (111012, DCM): confidence taken as 1, shown as "confidence not given"');
      confidence = 1;
    }

    // Model: TID 4019 in the group, else the device observer of the document.
    const alg = algorithmOf(list);
    const model: ModelRef = {
      name: alg.name ?? obs.device?.name ?? obs.device?.model ?? 'unknown',
      version: alg.version ?? 'unknown',
      manufacturer: obs.device?.manufacturer ?? 'unknown',
    };
    if (!alg.name && !obs.device) warn('no Algorithm Identification (TID 4019) or device observer: model unknown');

    // Verdict (verified SR): Presence of property, plus an optional comment with modified/rejected details.
    const verdictItem = list.find((i) => i.ValueType === 'CODE' && is(i, CODES.presenceOfProperty));
    const comment = textOf(find(list, CODES.comment, 'TEXT'));
    let status: Finding['status'] = 'ai-unverified';
    let verdict: Finding['verdict'];
    let originalId: string | undefined;
    if (verdictItem) {
      const v = codeOf(verdictItem.ConceptCodeSequence);
      const m = comment ? VERDICT_COMMENT.exec(comment) : null;
      if (v && sameCode(v, CODES.absent)) status = 'rejected';
      else if (v && sameCode(v, CODES.present)) status = m && m[1].toLowerCase() === 'modified' ? 'modified' : 'accepted';
      else warn(`unknown verdict value ${v?.meaning ?? '(none)'}: left unverified`);
      if (status === 'modified') originalId = m?.[3];
      if (status !== 'ai-unverified') {
        const reason = m && m[1].toLowerCase() === 'rejected' ? m[2] : undefined;
        verdict = {
          by: verifiedBy ?? 'unknown',
          at: verifiedAt ?? new Date(0).toISOString(),
          ...(reason ? { reason: reason as never } : {}),
          ...(m && m[4] ? { note: m[4] } : {}),
        };
        if (!verifiedBy) warn('verdict without a Verifying Observer or Person Observer: recorded as by "unknown"');
        if (status === 'modified' && !originalId) {
          warn('modified finding without the id of its AI original: recorded as accepted');
          status = 'accepted';
        }
      }
    }

    const input: FindingInput & { regions: Region[] } = {
      // The writer puts the finding id in the Tracking Identifier; other tools put a label there.
      id: (trackingId ?? trackingUID ?? `${document.sopInstanceUID ?? 'sr'}-${gi + 1}`).slice(0, 128),
      studyInstanceUID,
      type,
      label: type.meaning,
      confidence,
      ...(confidenceStated ? {} : { confidenceStated: false as const }),
      severity: 'routine',
      regions,
      measurements: measurementsOut,
      ...(findingSite ? { findingSite } : {}),
      model,
      source: 'sr',
      status,
      ...(verdict ? { verdict } : {}),
      ...(originalId ? { originalId } : {}),
      ...(trackingUID && /^[0-9]+(\.[0-9]+)*$/.test(trackingUID) && trackingUID.length <= 64 ? { trackingUID } : {}),
    };
    // The writer splits a finding over several groups (one per region) sharing the tracking UID: merge them back.
    const key = `${trackingId ?? ''}|${trackingUID ?? `#${gi}`}`;
    const prev = merged.get(key);
    if (prev) {
      for (const r of regions) {
        if (!prev.regions.some((p) => JSON.stringify(p) === JSON.stringify(r))) prev.regions.push(r);
      }
      return;
    }
    merged.set(key, input);
  });
  for (const [key, input] of merged) {
    const parsed = FindingSchema.safeParse(input);
    if (!parsed.success) {
      warnings.push(`finding ${key.split('|')[0] || key}: does not make a valid finding (${describeIssues(parsed.error).join('; ')}): skipped`);
      continue;
    }
    findings.push(parsed.data);
  }
  return { findings, warnings, document };
}
