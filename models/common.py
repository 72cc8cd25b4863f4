"""Shared by the demo models' train.py scripts: the exact pre-processing the runtime uses
(src/core/ai/processing.ts mirrors it), connected-component decoding, evaluation and ONNX export.

Run with Debian's interpreter (/usr/bin/python3): python3-torch, python3-onnx, python3-pydicom.
"""
import base64
import hashlib
import json
import os
import random
import sys
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.environ.get('SHARED_DIR', os.path.join(os.path.dirname(REPO), 'shared'))
DICOM = os.path.join(SHARED, 'data', 'dicom')


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # the build box has 2 cores shared with other work
    torch.use_deterministic_algorithms(True)


# ---- pre-processing: keep identical to src/core/ai/processing.ts -------------------------

def normalise(stored, slope, intercept, norm, photometric):
    v = stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    if norm['kind'] == 'window':
        lo = norm['center'] - norm['width'] / 2.0
        return np.clip((v - np.float32(lo)) / np.float32(norm['width']), 0, 1).astype(np.float32)
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        return np.zeros_like(v)
    out = (v - np.float32(lo)) / np.float32(hi - lo)
    return (1 - out) if photometric == 'MONOCHROME1' else out


def resample(img, w, h):
    """Bilinear, align_corners=False, no antialias: what resampleBilinear() does."""
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(h, w), mode='bilinear', align_corners=False, antialias=False)[0, 0].numpy()


def preprocess(stored, slope, intercept, manifest_input, photometric='MONOCHROME2'):
    n = normalise(stored, slope, intercept, manifest_input['normalisation'], photometric)
    return resample(n, manifest_input['width'], manifest_input['height'])


def mask_to_target(mask, out_w, out_h, min_fraction):
    """Full-resolution lesion mask → heatmap target: a cell is positive when the lesion covers enough of it."""
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    frac = F.adaptive_avg_pool2d(t, (out_h, out_w))[0, 0].numpy()
    return (frac >= min_fraction).astype(np.float32)


# ---- morphology without scipy -------------------------------------------------------------

def erode(mask, r):
    m = mask.copy()
    for _ in range(r):
        m = m & np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1)
    return m


def dilate(mask, r):
    m = mask.copy()
    for _ in range(r):
        m = m | np.roll(m, 1, 0) | np.roll(m, -1, 0) | np.roll(m, 1, 1) | np.roll(m, -1, 1)
    return m


def blob_radius(h, w, cy, cx, radius, rng, elong=None):
    """Normalised radius map of a blob of varied shape (rotated ellipse, lobulated border): 0 at
    the centre, 1 on the border. Also returns the scale in pixels of one unit of it."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    elong = rng.uniform(1.0, 2.2) if elong is None else elong
    theta = rng.uniform(0, np.pi)
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    a, b = radius * np.sqrt(elong), radius / np.sqrt(elong)
    ang = np.arctan2(v, u)
    lob = 1.0
    for k in (2, 3, 5):
        lob = lob + rng.uniform(0, 0.18) * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
    return (np.sqrt((u / a) ** 2 + (v / b) ** 2) / lob).astype(np.float32)


def blob_alpha(h, w, cy, cx, radius, rng, elong=None):
    """A soft-edged blob: one-pixel partial-volume edge, like the edge of a real lesion."""
    r = blob_radius(h, w, cy, cx, radius, rng, elong)
    return np.clip((1.0 - r) * radius + 0.5, 0, 1).astype(np.float32)


# ---- decoding + evaluation: keep identical to heatmapToBoxes()/gridBoxToImage() -------------

def components(prob, thr, connectivity=8, min_area=1):
    h, w = prob.shape
    seen = np.zeros_like(prob, dtype=bool)
    boxes = []
    nbrs = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    if connectivity == 4:
        nbrs = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    ys, xs = np.nonzero(prob >= thr)
    for y0, x0 in zip(ys, xs):
        if seen[y0, x0]:
            continue
        q = deque([(y0, x0)])
        seen[y0, x0] = True
        minx = maxx = x0
        miny = maxy = y0
        area, score = 0, 0.0
        while q:
            y, x = q.popleft()
            area += 1
            score = max(score, float(prob[y, x]))
            minx, maxx, miny, maxy = min(minx, x), max(maxx, x), min(miny, y), max(maxy, y)
            for dy, dx in nbrs:
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w and not seen[ny, nx] and prob[ny, nx] >= thr:
                    seen[ny, nx] = True
                    q.append((ny, nx))
        if area >= min_area:
            boxes.append({'x': int(minx), 'y': int(miny), 'width': int(maxx - minx + 1), 'height': int(maxy - miny + 1), 'score': score})
    return boxes


def iou(a, b):
    ix = max(0.0, min(a['x'] + a['width'], b['x'] + b['width']) - max(a['x'], b['x']))
    iy = max(0.0, min(a['y'] + a['height'], b['y'] + b['height']) - max(a['y'], b['y']))
    inter = ix * iy
    union = a['width'] * a['height'] + b['width'] * b['height'] - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, thr):
    kept = []
    for b in sorted(boxes, key=lambda b: -b['score']):
        if all(iou(k, b) <= thr for k in kept):
            kept.append(b)
    return kept


def decode(prob, manifest, columns, rows):
    out = manifest['output']
    cls = out['classes'][0]
    dec = out['decoding']
    boxes = nms(components(prob, cls['threshold'], dec['connectivity'], dec['minAreaCells']), dec['nmsIou'])
    sx, sy = columns / out['width'], rows / out['height']
    return [{'x': b['x'] * sx, 'y': b['y'] * sy, 'width': b['width'] * sx, 'height': b['height'] * sy, 'score': b['score']} for b in boxes]


HIT_IOU = 0.1  # same as MATCH_IOU in src/ai/heldout.ts


def score_cases(per_case):
    """per_case: list of (predicted boxes, true lesion boxes). → sensitivity, false positives per slice."""
    lesions = hits = fps = 0
    for pred, truth in per_case:
        lesions += len(truth)
        hits += sum(1 for t in truth if any(iou(p, t) >= HIT_IOU for p in pred))
        fps += sum(1 for p in pred if not any(iou(p, t) >= HIT_IOU for t in truth))
    return (hits / lesions if lesions else 1.0), fps / max(1, len(per_case)), lesions


# ---- network + export -------------------------------------------------------------------

class HeatmapNet(nn.Module):
    """Tiny fully convolutional net: input 1×H×W in [0,1] → 1×H/2×W/2 probability map.
    Dilated convolutions give ~30-pixel context (enough to tell bone and scalp from lesion)."""

    def __init__(self, c1=12, c2=16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c2, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(c2, c2, 3, padding=4, dilation=4), nn.ReLU(),
            nn.Conv2d(c2, 1, 1),
        )

    def forward(self, x):
        return torch.sigmoid(self.body(x))


def export_onnx(model, manifest, path):
    model.eval()
    inp = manifest['input']
    dummy = torch.zeros(1, 1, inp['height'], inp['width'])
    torch.onnx.export(
        model, dummy, path, input_names=[inp['name']], output_names=[manifest['output']['name']],
        opset_version=17, dynamic_axes={inp['name']: {0: 'batch'}, manifest['output']['name']: {0: 'batch'}},
    )
    import onnx
    onnx.checker.check_model(onnx.load(path))
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def b64_int16(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype='<i2').tobytes()).decode('ascii')


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def choose_operating_point(val, manifest, columns, rows, max_fp=0.25):
    """Pick threshold and minimum component size on VALIDATION cases (never the held-out ones):
    the highest sensitivity with at most max_fp false positives per slice; ties go to the
    stricter setting. val: list of (probability map, true boxes)."""
    best = None
    for min_area in (2, 4, 6, 8, 10, 12):
        # Tiny ReLU nets top out below 0.5 (the output bias caps them): search the whole range.
        for thr in [round(0.1 + 0.025 * i, 3) for i in range(35)]:
            m = json.loads(json.dumps(manifest))
            m['output']['classes'][0]['threshold'] = thr
            m['output']['decoding']['minAreaCells'] = min_area
            sens, fpps, _ = score_cases([(decode(p, m, columns, rows), t) for p, t in val])
            key = (fpps <= max_fp, sens, -fpps, thr, min_area)
            if best is None or key > best[0]:
                best = (key, thr, min_area, sens, fpps)
    _, thr, min_area, sens, fpps = best
    log(f'operating point on validation: threshold {thr}, minAreaCells {min_area}: sensitivity {sens:.3f}, FP/slice {fpps:.3f}')
    return thr, min_area, sens, fpps


def load_weights_from_onnx(model, path):
    """Reuse the weights of a committed model.onnx (its initializers carry the torch names)."""
    import onnx
    from onnx import numpy_helper
    g = onnx.load(path).graph
    state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    model.load_state_dict(state)


# ---- calibration: is a finding's score the chance that it is real? --------------------------

def candidate_outcomes(per_case, manifest, columns, rows, threshold=0.05):
    """Every component above a low threshold (minimum component size as the manifest says), with its
    peak probability and whether it hits a true lesion: the units a displayed score is about.
    per_case: list of (probability map, true boxes)."""
    m = json.loads(json.dumps(manifest))
    m['output']['classes'][0]['threshold'] = threshold
    scores, hits = [], []
    for prob, truth in per_case:
        for b in decode(prob, m, columns, rows):
            scores.append(b['score'])
            hits.append(1.0 if any(iou(b, t) >= HIT_IOU for t in truth) else 0.0)
    return np.array(scores, dtype=np.float64), np.array(hits, dtype=np.float64)


def reliability(scores, hits, n_bins=10):
    """Reliability curve (equal-width score bins) and expected calibration error
    (sum over bins of |observed - mean score| weighted by the bin's share of candidates)."""
    bins, ece, n = [], 0.0, len(scores)
    for k in range(n_bins):
        lo, hi = k / n_bins, (k + 1) / n_bins
        sel = (scores >= lo) & ((scores < hi) if k < n_bins - 1 else (scores <= hi))
        c = int(sel.sum())
        if c == 0:
            continue
        conf, obs = float(scores[sel].mean()), float(hits[sel].mean())
        ece += c / n * abs(obs - conf)
        bins.append({'from': round(lo, 2), 'to': round(hi, 2), 'count': c, 'meanScore': round(conf, 3), 'observed': round(obs, 3)})
    return bins, round(ece, 4)


def fit_platt(scores, hits):
    """Logistic (Platt) recalibration of peak probabilities: p' = sigmoid(a * logit(p) + b), a > 0 so
    that the ranking, and therefore every component, is unchanged. Fitted by maximum likelihood."""
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    z = torch.from_numpy(np.log(p / (1 - p)))
    y = torch.from_numpy(hits)
    la = torch.zeros((), dtype=torch.float64, requires_grad=True)  # a = exp(la) > 0
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([la, b], max_iter=200, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(torch.exp(la) * z + b, y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(torch.exp(la)), float(b)


def platt_apply(prob, a, b):
    p = np.clip(prob.astype(np.float64), 1e-7, 1 - 1e-7)
    return (1 / (1 + np.exp(-(a * np.log(p / (1 - p)) + b)))).astype(np.float32)
