/**
 * The study's result objects in the sidebar: each says what it is and who made it (AI algorithm or
 * person, as the server read it from the object's content) and that it states no confidence; SEG
 * segments with visibility and opacity, a parametric map's threshold, a presentation state's
 * "apply" (its VOI and shutter), a KOS's key images (click: go there), any other SR as a tree.
 */
import { useState } from 'react';
import type { ViewerContext } from '../viewer/extensions';
import type { ListedObject } from '../core/objects/policy';
import type { TreeNode } from '../core/objects/content';
import type { KeyImage } from '../core/objects/content';
import { useFindingsStore } from '../findings/state';
import { goToImage, applyPresentation } from './navigation';
import { DEFAULT_SEG_OPACITY, useObjectsStore, type Loaded } from './state';

const KIND: Record<ListedObject['kind'], string> = { seg: 'Segmentation', pmap: 'Parametric map', pr: 'Presentation state', ko: 'Key images', sr: 'Structured report' };

export function creatorLine(o: ListedObject): string {
  const c = o.creator;
  if (c.creator === 'ai') return `AI · ${c.name ?? 'algorithm not named'}${c.version ? ` ${c.version}` : ''}`;
  return `Person · ${c.name ? c.name.replace(/\^+/g, ' ').trim() : 'name not given'}`;
}

export function ObjectsPanel({ ctx }: { ctx: ViewerContext }) {
  const s = useObjectsStore();
  const aiVisible = useFindingsStore((f) => f.overlaysVisible);
  if (!s.list.length && !s.listError) return null;
  return (
    <section aria-label="Result objects" data-testid="objects-panel" style={{ font: '13px system-ui, sans-serif', color: '#ddd', padding: '6px 8px', borderTop: '1px solid #2a313a' }}>
      <h3 style={{ fontSize: 13, margin: '4px 0' }}>Result objects</h3>
      {s.listError && <p role="alert">Result objects could not be listed: {s.listError}</p>}
      {s.list.map((o) => {
        const l = s.loaded[o.sopInstanceUID];
        const hiddenByAi = o.creator.creator === 'ai' && !aiVisible;
        return (
          <article key={o.sopInstanceUID} data-testid="object-item" data-kind={o.kind} data-sop={o.sopInstanceUID} style={{ margin: '6px 0', padding: 6, background: '#1b2027', borderRadius: 4 }}>
            <header style={{ display: 'flex', gap: 6, alignItems: 'baseline', flexWrap: 'wrap' }}>
              <label style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
                {o.kind !== 'ko' && o.kind !== 'sr' && (
                  <input type="checkbox" data-testid="object-toggle" checked={!s.objectHidden[o.sopInstanceUID]} onChange={(e) => useObjectsStore.setState((x) => ({ objectHidden: { ...x.objectHidden, [o.sopInstanceUID]: !e.target.checked } }))} />
                )}
                <strong>{KIND[o.kind]}</strong>
              </label>
              <span>{o.contentLabel ?? o.seriesDescription ?? ''}</span>
            </header>
            <div data-testid="object-creator" title={`decided by: ${o.creator.basis}`} style={{ color: o.creator.creator === 'ai' ? '#ffb000' : '#8fd3ff' }}>
              {creatorLine(o)}
              {o.creator.creator === 'ai' && <span data-testid="object-confidence"> · confidence not given</span>}
            </div>
            {hiddenByAi && <div style={{ color: '#8994a3' }}>hidden: AI marks are off (key o)</div>}
            {s.errors[o.sopInstanceUID] && <div role="alert">Could not be loaded: {s.errors[o.sopInstanceUID]}</div>}
            {o.kind === 'sr' && o.ingestedAsFindings && <div style={{ color: '#8994a3' }}>shown as findings</div>}
            {l && <Body o={o} l={l} ctx={ctx} />}
            {!l && !s.errors[o.sopInstanceUID] && !(o.kind === 'sr' && o.ingestedAsFindings) && <div style={{ color: '#8994a3' }}>loading…</div>}
          </article>
        );
      })}
    </section>
  );
}

function Body({ o, l, ctx }: { o: ListedObject; l: Loaded; ctx: ViewerContext }) {
  const s = useObjectsStore();
  const sop = o.sopInstanceUID;
  const firstRef = (): KeyImage | null => {
    const r = o.referencedSeries.find((x) => x.seriesInstanceUID && x.sopInstanceUIDs.length);
    return r ? { seriesInstanceUID: r.seriesInstanceUID, sopInstanceUID: r.sopInstanceUIDs[0], frames: [] } : null;
  };
  const goRef = firstRef();
  const goButton = goRef && (
    <button type="button" data-testid="object-goto" onClick={() => void goToImage(ctx, goRef)}>
      Show on its images
    </button>
  );
  switch (l.kind) {
    case 'seg':
      return (
        <div>
          {goButton}
          {l.seg.segments.map((seg) => {
            const key = `${sop}:${seg.number}`;
            const opacity = s.segOpacity[key] ?? DEFAULT_SEG_OPACITY;
            return (
              <div key={seg.number} data-testid="seg-segment" style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
                <label style={{ display: 'flex', gap: 4, alignItems: 'center', flex: 1 }}>
                  <input type="checkbox" data-testid={`seg-toggle-${seg.number}`} checked={!s.segHidden[key]} onChange={(e) => useObjectsStore.setState((x) => ({ segHidden: { ...x.segHidden, [key]: !e.target.checked } }))} />
                  <span style={{ width: 12, height: 12, background: `rgb(${seg.colour.join(',')})`, display: 'inline-block', borderRadius: 2 }} />
                  {seg.label}
                  {seg.algorithmType && <small style={{ color: '#8994a3' }}>{seg.algorithmType.toLowerCase()}</small>}
                </label>
                <input type="range" aria-label={`opacity of ${seg.label}`} data-testid={`seg-opacity-${seg.number}`} min={0} max={1} step={0.05} value={opacity} onChange={(e) => useObjectsStore.setState((x) => ({ segOpacity: { ...x.segOpacity, [key]: Number(e.target.value) } }))} style={{ width: 80 }} />
              </div>
            );
          })}
        </div>
      );
    case 'pmap': {
      const p = l.pmap;
      const t = s.threshold[sop] ?? p.min;
      return (
        <div>
          {goButton}
          <label style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
            Threshold
            <input type="range" data-testid="pmap-threshold" min={p.min} max={p.max} step={(p.max - p.min) / 100 || 1} value={t} onChange={(e) => useObjectsStore.setState((x) => ({ threshold: { ...x.threshold, [sop]: Number(e.target.value) } }))} />
            <span>{t.toPrecision(3)}</span>
          </label>
          <small style={{ color: '#8994a3' }}>{p.label ?? ''} range {p.min.toPrecision(3)}–{p.max.toPrecision(3)}{p.unit && p.unit !== 'no units' ? ` ${p.unit}` : ''}</small>
        </div>
      );
    }
    case 'pr': {
      const applied = s.appliedPr === sop;
      return (
        <div>
          {goButton}
          <button type="button" data-testid="pr-apply" aria-pressed={applied} onClick={() => void applyPresentation(ctx, applied ? null : sop)}>
            {applied ? 'Remove presentation (VOI, shutter)' : 'Apply presentation (VOI, shutter)'}
          </button>
          <small style={{ color: '#8994a3', display: 'block' }}>
            {l.pr.graphics.length} graphic(s), {l.pr.texts.length} text(s){l.pr.voi[0] ? `, W ${l.pr.voi[0].width} / L ${l.pr.voi[0].center}` : ''}{l.pr.shutters.length ? `, shutter ${l.pr.shutters.map((x) => x.shape.toLowerCase()).join(' + ')}` : ''}
          </small>
        </div>
      );
    }
    case 'ko':
      return (
        <div>
          <div>{l.title}{l.description ? ` — ${l.description}` : ''}</div>
          <ol style={{ margin: '4px 0', paddingLeft: 20 }}>
            {l.images.map((img, i) => (
              <li key={`${img.sopInstanceUID}:${i}`}>
                <button type="button" data-testid="ko-image" data-sop={img.sopInstanceUID} onClick={() => void goToImage(ctx, img)} style={{ background: 'none', border: 'none', color: '#8fd3ff', cursor: 'pointer', padding: 0 }}>
                  Key image {i + 1} (…{img.sopInstanceUID.slice(-8)})
                </button>
              </li>
            ))}
          </ol>
        </div>
      );
    case 'sr':
      return <SrTree node={l.tree} />;
  }
}

function SrTree({ node }: { node: TreeNode }) {
  const [open, setOpen] = useState(true);
  return (
    <div data-testid="sr-tree" style={{ maxHeight: 320, overflow: 'auto' }}>
      <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} style={{ background: 'none', border: 'none', color: '#ddd', padding: 0, fontWeight: 600 }}>
        {open ? '▾' : '▸'} {node.name || 'Report'}
      </button>
      {open && <TreeItems nodes={node.children} />}
    </div>
  );
}

function TreeItems({ nodes }: { nodes: TreeNode[] }) {
  if (!nodes.length) return null;
  return (
    <ul style={{ margin: 0, paddingLeft: 14, listStyle: 'none' }}>
      {nodes.map((n, i) => (
        <li key={i} data-testid="sr-node">
          <span style={{ color: '#8994a3' }}>{n.relationship ? `${n.relationship.toLowerCase()} ` : ''}</span>
          {n.name && <span>{n.name}</span>}
          {n.value && <span>{n.name ? ': ' : ''}<strong>{n.value}</strong></span>}
          <TreeItems nodes={n.children} />
        </li>
      ))}
    </ul>
  );
}
