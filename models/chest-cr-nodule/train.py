"""Chest radiograph nodule-like opacity demo model: trains, evaluates, exports ONNX + manifest.

DEMONSTRATION ONLY. The "nodules" are synthetic: a documented generator paints round opacities
into the one public chest CR we have (../shared/data/dicom/dwv/tests/data/gdcm-CR-MONO1-10-chest.dcm,
MONOCHROME1, 440x440, 10 bits).

Lesion generator (insert_nodules):
  * where: inside the lung fields: pixels whose 9x9 local mean is > 590 (lungs are the darkest
    areas: high stored values in MONOCHROME1), away from the image border and the right-hand
    edge artefacts, eroded by 6 px + half the radius;
  * shape: rotated ellipse, elongation 1..1.5, lobulated border (random 2nd/3rd/5th harmonics),
    radius 4..14 px;
  * density: the projection of a solid sphere (thickness sqrt(1 - r^2)), 120..260 stored units at
    its centre (denser = lower value in MONOCHROME1), plus noise (sd 5); mask = blob weight >= 0.5;
    1..3 non-touching nodules per image.
Split: there is only one radiograph, so the background cannot be held out. Training uses
left-right flipped and unflipped copies with nodules from one random stream; evaluation uses new
nodules from an independent seed on the unflipped image, plus the image nodule-free. The manifest
says so: the figures are optimistic.

Usage: /usr/bin/python3 models/chest-cr-nodule/train.py [--steps N]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import pydicom
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common as C  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE = os.path.join(C.DICOM, 'dwv', 'tests', 'data', 'gdcm-CR-MONO1-10-chest.dcm')
SEED = 20261126

MANIFEST = {
    'schemaVersion': 1,
    'name': 'chest-cr-nodule',
    'version': '1.0.0',
    'manufacturer': 'Reading Station Demo',
    'licence': 'BSD-2-Clause (weights and code); trained on the DWV/GDCM test chest CR',
    'intendedUse': 'Flags nodule-like round opacities in the lung fields of adult frontal chest radiographs (CR/DX), as a second look. Demonstration of the reading station\'s AI pipeline.',
    'regulatoryStatus': 'DEMONSTRATION ONLY - not a medical device, not cleared or approved for clinical use. Trained and tested on synthetic nodules painted into a single real radiograph; its figures say nothing about real nodules.',
    'training': '',
    'indication': {
        'modalities': ['CR', 'DX'],
        'bodyParts': ['CHEST'],
        'ageYears': {'min': 18, 'max': 120},
        'contraindications': ['lateral projection', 'paediatric patients'],
    },
    # The input domain: original radiographs only; derived or secondary captures are outside (src/core/ai/eligibility.ts).
    'domain': {'imageType': ['ORIGINAL', 'PRIMARY']},
    'input': {
        'name': 'input', 'width': 256, 'height': 256, 'channels': 1, 'layout': 'NCHW',
        'normalisation': {'kind': 'minmax'},
        'resampling': 'bilinear', 'orientation': 'as-stored',
    },
    'output': {
        'name': 'heatmap', 'width': 128, 'height': 128, 'activation': 'probability',
        'decoding': {'kind': 'heatmap-boxes', 'connectivity': 8, 'minAreaCells': 2, 'nmsIou': 0.3, 'linkAcrossSlices': False},
        'classes': [{
            'index': 0,
            'code': {'value': '427359005', 'scheme': 'SCT', 'meaning': 'Solitary nodule of lung'},
            'label': 'Nodule-like opacity',
            'severity': 'urgent',
            'threshold': 0.5,
        }],
    },
    'files': {'model': 'model.onnx'},
}


def load():
    d = pydicom.dcmread(IMAGE)
    return {
        'file': os.path.relpath(IMAGE, C.DICOM), 'stored': d.pixel_array.astype(np.int32),
        'slope': float(d.get('RescaleSlope', 1)), 'intercept': float(d.get('RescaleIntercept', 0)),
        'photometric': d.PhotometricInterpretation, 'maxValue': (1 << d.BitsStored) - 1,
    }


def lung_fields(stored):
    a = stored.astype(np.float32)
    k = 9
    p = np.pad(a, k // 2, mode='edge')
    cs = np.pad(np.cumsum(np.cumsum(p, 0), 1), ((1, 0), (1, 0)))
    mean = (cs[k:, k:] - cs[:-k, k:] - cs[k:, :-k] + cs[:-k, :-k]) / (k * k)
    lung = mean > 590
    lung[:30] = lung[410:] = False
    lung[:, :15] = lung[:, 400:] = False
    return C.erode(lung, 6)


def insert_nodules(stored, rng, n, lung, max_value):
    img = stored.astype(np.float32).copy()
    h, w = img.shape
    mask = np.zeros((h, w), dtype=bool)
    nodules = []
    for _ in range(n * 10):
        if len(nodules) == n:
            break
        radius = rng.uniform(4, 14)
        ys, xs = np.nonzero(C.erode(lung, int(radius // 2)))
        if len(ys) == 0:
            break
        i = rng.integers(len(ys))
        cy, cx = ys[i] + rng.uniform(-0.5, 0.5), xs[i] + rng.uniform(-0.5, 0.5)
        half = int(radius * 1.5) + 3
        y0, y1 = max(0, int(cy) - half), min(h, int(cy) + half + 1)
        x0, x1 = max(0, int(cx) - half), min(w, int(cx) + half + 1)
        r = C.blob_radius(y1 - y0, x1 - x0, cy - y0, cx - x0, radius, rng, rng.uniform(1.0, 1.5))
        alpha = np.clip((1.0 - r) * radius + 0.5, 0, 1)
        m = alpha >= 0.5
        if m.sum() < 6 or (C.dilate(mask, 3)[y0:y1, x0:x1] & m).any():
            continue
        amp = rng.uniform(120, 260)
        dome = np.sqrt(np.clip(1 - r * r, 0, 1)) * alpha
        img[y0:y1, x0:x1] -= dome * amp + m * rng.normal(0, 5, m.shape)
        mask[y0:y1, x0:x1] |= m
        yy, xx = np.nonzero(m)
        nodules.append({
            'box': {'x': int(x0 + xx.min()), 'y': int(y0 + yy.min()), 'width': int(xx.max() - xx.min() + 1), 'height': int(yy.max() - yy.min() + 1)},
            'amplitude': round(float(amp), 1), 'radiusPx': round(float(radius), 1), 'patch': (x0, y0, x1 - x0, y1 - y0),
        })
    return np.clip(np.rint(img), 0, max_value).astype(np.int32), mask, nodules


def sample(img, lungs, rng, m):
    flip = rng.random() < 0.5
    stored = img['stored'][:, ::-1] if flip else img['stored']
    lung = lungs[1] if flip else lungs[0]
    n = 0 if rng.random() < 0.25 else int(rng.integers(1, 4))
    stored, mask, nodules = insert_nodules(np.ascontiguousarray(stored), rng, n, lung, img['maxValue'])
    x = C.preprocess(stored, img['slope'], img['intercept'], m['input'], img['photometric'])
    x = np.clip(x, 0, 1) ** np.float32(rng.uniform(0.8, 1.25))  # contrast augmentation
    t = C.mask_to_target(mask, m['output']['width'], m['output']['height'], 0.3)
    cell = 440 / 128
    if nodules and rng.random() < 0.7:
        b = nodules[rng.integers(len(nodules))]['box']
        cx, cy = (b['x'] + b['width'] / 2) / cell, (b['y'] + b['height'] / 2) / cell
        ox = int(np.clip(cx - 32 + rng.integers(-20, 21), 0, 64))
        oy = int(np.clip(cy - 32 + rng.integers(-20, 21), 0, 64))
    else:
        ox, oy = int(rng.integers(0, 65)), int(rng.integers(0, 65))
    return x[oy * 2:oy * 2 + 128, ox * 2:ox * 2 + 128], t[oy:oy + 64, ox:ox + 64]


def predict(model, stored, img, m):
    x = torch.from_numpy(C.preprocess(stored, img['slope'], img['intercept'], m['input'], img['photometric']))[None, None]
    with torch.no_grad():
        return model(x)[0, 0].numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=900)
    ap.add_argument('--eval-only', action='store_true', help='reuse the weights of the committed model.onnx: recalibrate, re-evaluate, re-export')
    args = ap.parse_args()
    C.seed_everything(SEED)
    rng = np.random.default_rng(SEED)
    m = MANIFEST
    img = load()
    lungs = (lung_fields(img['stored']), lung_fields(np.ascontiguousarray(img['stored'][:, ::-1])))

    model = C.HeatmapNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    t0 = time.time()
    if args.eval_only:
        C.load_weights_from_onnx(model, os.path.join(HERE, 'model.onnx'))
    for step in range(0 if args.eval_only else args.steps):
        xs, ts = zip(*[sample(img, lungs, rng, m) for _ in range(12)])
        x = torch.from_numpy(np.stack(xs).astype(np.float32))[:, None]
        t = torch.from_numpy(np.stack(ts))[:, None]
        p = model(x)
        loss = F.binary_cross_entropy(p, t, weight=1 + 9 * t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps - 1:
            C.log(f'step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s')

    model.eval()
    rows, cols = img['stored'].shape
    # Operating point from validation cases (own seed; the held-out cases never choose it).
    vrng = np.random.default_rng(SEED + 2)
    val = []
    for k in range(60):
        n = 0 if k % 4 == 0 else int(vrng.integers(1, 3))
        flip = k % 2 == 1
        base = np.ascontiguousarray(img['stored'][:, ::-1]) if flip else img['stored']
        stored, _, nodules = insert_nodules(base, vrng, n, lungs[1] if flip else lungs[0], img['maxValue'])
        val.append((predict(model, stored, img, m), [x['box'] for x in nodules]))
    m = json.loads(json.dumps(m))
    thr, min_area, vsens, vfp = C.choose_operating_point(val, m, cols, rows)
    m['output']['classes'][0]['threshold'] = thr
    m['output']['decoding']['minAreaCells'] = min_area

    erng = np.random.default_rng(SEED + 1)
    prob = predict(model, img['stored'], img, m)
    clean_pred = C.decode(prob, m, cols, rows)
    per_case = [(clean_pred, [])]
    cases = []
    for _ in range(40):
        stored, _, nodules = insert_nodules(img['stored'], erng, int(erng.integers(1, 3)), lungs[0], img['maxValue'])
        pred = C.decode(predict(model, stored, img, m), m, cols, rows)
        per_case.append((pred, [n['box'] for n in nodules]))
        deltas = []
        for n in nodules:
            x0, y0, w, h = n['patch']
            d = stored[y0:y0 + h, x0:x0 + w] - img['stored'][y0:y0 + h, x0:x0 + w]
            deltas.append({'x': x0, 'y': y0, 'width': w, 'height': h, 'int16': C.b64_int16(d)})
        cases.append({'file': img['file'], 'lesions': [{'box': n['box'], 'amplitude': n['amplitude'], 'radiusPx': n['radiusPx']} for n in nodules], 'deltas': deltas})
    sens, fpps, nles = C.score_cases(per_case)
    C.log(f'held-out: sensitivity {sens:.3f} over {nles} nodules, FP/image {fpps:.3f} over {len(per_case)} images; clean max p {prob.max():.3f}, {len(clean_pred)} boxes')

    m['training'] = (
        f'HeatmapNet (5 conv layers, {sum(p.numel() for p in model.parameters())} parameters), {args.steps} Adam steps of 12 '
        f'128x128 crops, BCE with 10x positive weight, contrast (gamma) augmentation, seed {SEED}; the single DWV/GDCM chest CR, '
        'flipped and unflipped, with 0-3 synthetic nodules each (generator documented in train.py). '
        f'Threshold {thr} and minimum component {min_area} cells chosen on 60 validation images from their own seed '
        f'(sensitivity {vsens:.3f}, {vfp:.3f} FP/image there), never on the held-out cases.'
    )
    m['validation'] = {
        'data': f'{len(cases)} generated images ({nles} synthetic nodules, radius 4-14 px) from an independent seed on the same '
                'radiograph, plus the radiograph nodule-free. The background image is the training image: the figures are optimistic '
                'and say nothing about real nodules.',
        'method': f'a nodule is detected when a predicted box overlaps its bounding box with IoU >= {C.HIT_IOU}; every other predicted box is a false positive',
        'cases': len(per_case), 'lesions': nles, 'lesionFreeSlices': 1,
        'sensitivity': round(sens, 3), 'falsePositivesPerSlice': round(fpps, 3),
        'floors': {'sensitivity': max(0.0, round(np.floor(sens * 20) / 20 - 0.1, 2)), 'maxFalsePositivesPerSlice': round(fpps + 0.15, 2)},
    }
    sha = C.export_onnx(model, m, os.path.join(HERE, 'model.onnx'))
    m['files'] = {'model': 'model.onnx', 'sha256': sha}
    C.write_json(os.path.join(HERE, 'manifest.json'), m)
    C.write_json(os.path.join(HERE, 'heldout.json'), {
        'generator': 'models/chest-cr-nodule/train.py insert_nodules, seed %d' % (SEED + 1),
        'dicomRoot': 'shared/data/dicom', 'columns': cols, 'rows': rows,
        'lesionFree': [img['file']], 'cases': cases,
    })
    C.log(f'wrote model.onnx ({os.path.getsize(os.path.join(HERE, "model.onnx"))} bytes), manifest.json, heldout.json')


if __name__ == '__main__':
    main()
