/**
 * Result objects of the open study (zustand): the gateway's list (already through the reader
 * policy, creator read by the server from each object's content) and each object as parsed here
 * from its DICOM bytes, plus the reader's display choices (segment visibility and opacity, map
 * threshold, which presentation state is applied).
 */
import { create } from 'zustand';
import type { ListedObject } from '../core/objects/policy';
import type { ParsedSeg } from '../core/objects/seg';
import type { ParsedPmap } from '../core/objects/pmap';
import type { ParsedPr } from '../core/objects/gsps';
import type { KeyImage, TreeNode } from '../core/objects/content';

export type Loaded =
  | { kind: 'seg'; seg: ParsedSeg }
  | { kind: 'pmap'; pmap: ParsedPmap }
  | { kind: 'pr'; pr: ParsedPr }
  | { kind: 'ko'; title: string; description?: string; images: KeyImage[] }
  | { kind: 'sr'; tree: TreeNode };

export interface ObjectsState {
  studyUID: string | null;
  list: ListedObject[];
  loaded: Record<string, Loaded>;
  errors: Record<string, string>;
  listError: string | null;
  /** `${sop}:${segmentNumber}` → hidden. */
  segHidden: Record<string, boolean>;
  /** `${sop}:${segmentNumber}` → opacity 0..1 (default 0.5). */
  segOpacity: Record<string, number>;
  /** Whole objects the reader switched off in the panel. */
  objectHidden: Record<string, boolean>;
  /** Parametric map threshold (values below it are not coloured), per SOP. */
  threshold: Record<string, number>;
  /** The presentation state whose VOI and shutter are applied (one at a time), or null. */
  appliedPr: string | null;
}

export const initialObjectsState = (): Omit<ObjectsState, 'studyUID'> => ({ list: [], loaded: {}, errors: {}, listError: null, segHidden: {}, segOpacity: {}, objectHidden: {}, threshold: {}, appliedPr: null });

export const useObjectsStore = create<ObjectsState>(() => ({ studyUID: null, ...initialObjectsState() }));

export const DEFAULT_SEG_OPACITY = 0.5;
