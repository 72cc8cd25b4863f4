import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { DICOM } from '../../../scripts/lib/demo-data.js';
import { parseDicomPart10, DicomParseError } from './dicom.js';
import { readMeasurementReport, polylineAsBox, geometryOf } from './reader.js';

const DWV = path.join(DICOM, 'dwv', 'tests', 'annotation', 'tid1500-0');
const DWV_IMAGE = '1.2.826.0.1.3680043.9.7278.1.83798073110115.20240516075655.3.6';
const DWV_SERIES = '1.2.826.0.1.3680043.9.7278.1.83101114105101115.20240516075655.2';
const read = (f: string) => readMeasurementReport(parseDicomPart10(fs.readFileSync(f)));

describe('readMeasurementReport on real SRs written by other tools', () => {
  it('dcmqi sr-example: one segmentation-based finding with its code and site, warnings for what is missing', () => {
    const r = read(path.join(DICOM, 'dcmqi', 'data', 'sr-example', 'sr.dcm'));
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.id).toBe('primary tumor');
    expect(f.type).toEqual({ value: 'M-80003', scheme: 'SRT', meaning: 'Neoplasm, Primary' });
    expect(f.findingSite?.meaning).toBe('pharyngeal tonsil (adenoid)');
    expect(f.trackingUID).toBe('2.25.318774060119084600392715520575818119084');
    // The group refers to the segmentation instance, listed in the evidence with its series.
    expect(f.regions).toEqual([
      { image: { seriesInstanceUID: '1.2.276.0.7230010.3.1.3.8323329.18591.1440001312.777032', sopInstanceUID: '1.2.276.0.7230010.3.1.4.8323329.18591.1440001312.777033', sopClassUID: '1.2.840.10008.5.1.4.1.1.66.4' } },
    ]);
    expect(f.measurements.find((m) => m.name.meaning === 'Volume')?.value).toBeCloseTo(33.5824);
    expect(f.confidence).toBe(1);
    expect(r.warnings.join('\n')).toMatch(/no Certainty of Finding/);
    expect(f.source).toBe('sr');
    expect(f.status).toBe('ai-unverified');
  });

  it('reads every DWV TID 1500 file without throwing, each finding on the referenced MR image', () => {
    const files = fs.readdirSync(DWV).filter((f) => f.endsWith('.dcm'));
    expect(files.length).toBe(7);
    for (const file of files) {
      const r = read(path.join(DWV, file));
      expect(r.findings.length, file).toBe(3);
      for (const f of r.findings) {
        for (const reg of f.regions) {
          expect(reg.image.sopInstanceUID).toBe(DWV_IMAGE);
          expect(reg.image.seriesInstanceUID).toBe(DWV_SERIES);
          expect(reg.box || reg.polygon, `${file} ${f.id}`).toBeTruthy();
        }
      }
      expect(r.warnings.some((w) => w.includes('no Finding code'))).toBe(true);
    }
  });

  it('DWV rectangle: closed 5-point POLYLINE becomes the box', () => {
    const r = read(path.join(DWV, 'sr-rectangle.dcm'));
    const box = r.findings[0].regions[0].box!;
    expect(box.x).toBeCloseTo(4.1392, 3);
    expect(box.y).toBeCloseTo(4.0253, 3);
    expect(box.width).toBeCloseTo(6, 3);
    expect(box.height).toBeCloseTo(4.0253, 3);
    expect(r.findings[0].id).toBe('0agh25tj42gr');
    expect(r.findings[0].trackingUID).toBe('1.2.826.0.1.3680043.9.7278.1.841149799107105110.20250407161510.1');
  });

  it('DWV circle and ellipse become boxes around them; ROI and protractor become polygons', () => {
    const circle = read(path.join(DWV, 'sr-circle.dcm')).findings[0].regions[0].box!;
    expect(circle.width).toBeCloseTo(4, 3);
    expect(circle.height).toBeCloseTo(circle.width, 6);
    const ellipse = read(path.join(DWV, 'sr-ellipse.dcm')).findings[0].regions[0].box!;
    // major axis (2.848,6.152)-(9.228,6.152), minor axis (6.038,4.253)-(6.038,8.051)
    expect(ellipse.x).toBeCloseTo(2.848, 3);
    expect(ellipse.width).toBeCloseTo(6.3797, 3);
    expect(ellipse.y).toBeCloseTo(4.2532, 3);
    expect(ellipse.height).toBeCloseTo(3.7975, 3);
    const roi = read(path.join(DWV, 'sr-roi.dcm')).findings[0].regions[0];
    expect(roi.box).toBeUndefined();
    expect(roi.polygon!.length).toBeGreaterThanOrEqual(3);
    const ruler = read(path.join(DWV, 'sr-ruler.dcm'));
    expect(ruler.warnings.some((w) => /is a line, not a region/.test(w))).toBe(true);
  });

  it('DWV arrow (a by-value relationship dsrdump refuses) still yields its point regions', () => {
    const r = read(path.join(DWV, 'sr-arrow.dcm'));
    expect(r.findings).toHaveLength(3);
    expect(r.warnings.some((w) => /POINT region/.test(w))).toBe(true);
  });
});

describe('geometry rules', () => {
  it('polylineAsBox accepts only closed axis-aligned 5-point polylines', () => {
    expect(polylineAsBox([[1, 2], [5, 2], [5, 9], [1, 9], [1, 2]])).toEqual({ x: 1, y: 2, width: 4, height: 7 });
    expect(polylineAsBox([[1, 2], [5, 2], [5, 9], [1, 9]])).toBeUndefined();
    expect(polylineAsBox([[1, 2], [5, 3], [5, 9], [1, 9], [1, 2]])).toBeUndefined();
  });
  it('a closed non-rectangular polyline becomes a polygon without the repeated point', () => {
    const w: string[] = [];
    expect(geometryOf('POLYLINE', [[0, 0], [4, 0], [2, 3], [0, 0]], (x) => w.push(x))).toEqual({ polygon: [[0, 0], [4, 0], [2, 3]] });
  });
  it('a circle becomes its bounding box', () => {
    expect(geometryOf('CIRCLE', [[10, 10], [13, 14]], () => {})).toEqual({ box: { x: 5, y: 5, width: 10, height: 10 } });
  });
});

describe('bad input', () => {
  it('parseDicomPart10 rejects a file without a Part 10 header with a clear error', () => {
    expect(() => parseDicomPart10(fs.readFileSync(path.join(DICOM, 'pydicom', 'test_files', 'no_meta.dcm')))).toThrow(DicomParseError);
  });
  it('an image instead of an SR gives a warning, not a crash', () => {
    const r = read(path.join(DICOM, 'pydicom', 'test_files', 'CT_small.dcm'));
    expect(r.findings).toEqual([]);
    expect(r.warnings[0]).toMatch(/not a structured report/);
  });
  it('a Comprehensive SR that is not TID 1500 is read with a warning', () => {
    const r = read(path.join(DICOM, 'pydicom', 'test_files', 'test-SR.dcm'));
    expect(r.findings).toEqual([]);
    expect(r.warnings.length).toBeGreaterThan(0);
  });
});
