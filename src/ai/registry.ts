/**
 * Which of the gateway's registered models (GET /api/models) this browser may run: those whose
 * manifest parses and that run here (ONNX). A remote model (runtime.kind `remote`, an external AI
 * service the gateway calls after de-identifying the study) is never run in the browser: it has no
 * model file, and the study must not leave through the browser. Pure, so it is unit-tested.
 */
import { parseManifest, type ModelManifest } from '../core/ai/manifest';

export type RegistryEntry = ModelManifest & { modelUrl: string };

export function browserRunnable(models: readonly unknown[]): RegistryEntry[] {
  return models.flatMap((m) => {
    const { modelUrl, ...rest } = m as Record<string, unknown>;
    const p = parseManifest(rest);
    return p.ok && p.value.runtime?.kind !== 'remote' && typeof modelUrl === 'string' ? [{ ...p.value, modelUrl }] : [];
  });
}
