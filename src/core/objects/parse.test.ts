/** SEG pixel unpacking and presentation-state reading on hand-made datasets (values worked out by hand). */
import { describe, expect, it } from 'vitest';
import { frameValues, parseSeg } from './seg';
import { inScope, outline, parsePr } from './gsps';
import { keyImages } from './content';

describe('SEG BINARY frames', () => {
  it('3×3 frames, bits packed LSB first and running on across frames without byte alignment', () => {
    // Frame 0: only the centre pixel (bit 4); frame 1 (bits 9…17): the top row (bits 9, 10, 11).
    const bits = (1 << 4) | (1 << 9) | (1 << 10) | (1 << 11);
    const pixels = new Uint8Array([bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff]);
    const seg = parseSeg({
      Rows: 3, Columns: 3, NumberOfFrames: 2, SegmentationType: 'BINARY', PixelData: [pixels.buffer],
      SegmentSequence: [{ SegmentNumber: 1, SegmentLabel: 'A' }, { SegmentNumber: 2, SegmentLabel: 'B' }],
      PerFrameFunctionalGroupsSequence: [1, 2].map((n) => ({ SegmentIdentificationSequence: [{ ReferencedSegmentNumber: n }], DerivationImageSequence: [{ SourceImageSequence: [{ ReferencedSOPInstanceUID: `1.2.${n}` }] }] })),
    });
    expect(seg.frames.map((f) => [f.segment, f.sourceSopInstanceUID])).toEqual([[1, '1.2.1'], [2, '1.2.2']]);
    expect([...frameValues(seg, 0)]).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([...frameValues(seg, 1)]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('presentation state', () => {
  const pr = parsePr({
    ReferencedSeriesSequence: [{ SeriesInstanceUID: '1.9', ReferencedImageSequence: [{ ReferencedSOPInstanceUID: '1.9.1' }, { ReferencedSOPInstanceUID: '1.9.2' }] }],
    GraphicAnnotationSequence: [
      { GraphicLayer: 'L', ReferencedImageSequence: [{ ReferencedSOPInstanceUID: '1.9.2' }], TextObjectSequence: [{ UnformattedTextValue: 'HERE', BoundingBoxAnnotationUnits: 'DISPLAY', BoundingBoxTopLeftHandCorner: [0.25, 0.5], BoundingBoxBottomRightHandCorner: [0.5, 0.6] }] },
      { GraphicLayer: 'L', GraphicObjectSequence: [{ GraphicAnnotationUnits: 'PIXEL', GraphicType: 'CIRCLE', GraphicData: [10, 20, 13, 24] }] },
    ],
    GraphicLayerSequence: [{ GraphicLayer: 'L', GraphicLayerRecommendedDisplayGrayscaleValue: 65535 }],
    SoftcopyVOILUTSequence: [{ WindowCenter: '40', WindowWidth: '400' }],
    ShutterShape: 'RECTANGULAR\\CIRCULAR',
    ShutterLeftVerticalEdge: 11, ShutterRightVerticalEdge: 500, ShutterUpperHorizontalEdge: 21, ShutterLowerHorizontalEdge: 400,
    CenterOfCircularShutter: [256, 128], RadiusOfCircularShutter: 100,
  });

  it('text scoped to its image; DISPLAY units over the whole image', () => {
    expect(pr.texts).toHaveLength(1);
    expect(inScope(pr.texts[0].scope, '1.9.2')).toBe(true);
    expect(inScope(pr.texts[0].scope, '1.9.1')).toBe(false);
    expect(pr.texts[0].units).toBe('DISPLAY');
    expect(pr.texts[0].box![0]).toEqual([0.25, 0.5]);
  });

  it('a CIRCLE of radius 5 (centre 10,20 through 13,24) outlined at radius 5; layer colour white', () => {
    const o = outline(pr.graphics[0], 512, 512, 4);
    expect(o.closed).toBe(true);
    expect(o.points.map((p) => p.map((v) => Math.round(v * 1e6) / 1e6))).toEqual([[15, 20], [10, 25], [5, 20], [10, 15]]);
    expect(pr.layerColours.L).toBe('rgb(255,255,255)');
  });

  it('VOI and shutters: 1-based edges and (row, column) centre to corner coordinates', () => {
    expect(pr.voi).toEqual([{ scope: { sops: null }, center: 40, width: 400, fn: undefined }]);
    expect(pr.shutters).toEqual([
      { shape: 'RECTANGULAR', left: 10, right: 500, top: 20, bottom: 400 },
      { shape: 'CIRCULAR', centre: [127.5, 255.5], radius: 100 },
    ]);
  });
});

describe('key object selection', () => {
  it('key images in document order with their series from the evidence', () => {
    const k = keyImages({
      ConceptNameCodeSequence: [{ CodeValue: '113000', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Of Interest' }],
      CurrentRequestedProcedureEvidenceSequence: [{ ReferencedSeriesSequence: [{ SeriesInstanceUID: '1.8', ReferencedSOPSequence: [{ ReferencedSOPInstanceUID: '1.8.5' }, { ReferencedSOPInstanceUID: '1.8.2' }] }] }],
      ContentSequence: [
        { ValueType: 'TEXT', TextValue: 'compare' },
        { ValueType: 'IMAGE', ReferencedSOPSequence: [{ ReferencedSOPInstanceUID: '1.8.5' }] },
        { ValueType: 'IMAGE', ReferencedSOPSequence: [{ ReferencedSOPInstanceUID: '1.8.2', ReferencedFrameNumber: 3 }] },
      ],
    });
    expect(k).toEqual({ title: 'Of Interest', description: 'compare', images: [{ seriesInstanceUID: '1.8', sopInstanceUID: '1.8.5', frames: [] }, { seriesInstanceUID: '1.8', sopInstanceUID: '1.8.2', frames: [3] }] });
  });
});
