/** Shared by the sr and hl7 command lines: read and validate a findings.json. */
import fs from 'node:fs';
import { FindingSchema, describeIssues, ModelRefSchema, type Finding } from '../src/core/findings/finding.js';

function fail(msg: string): never {
  console.error(`error: ${msg}`);
  process.exit(2);
}

export function loadFindings(file: string): { findings: Finding[]; model?: Finding['model'] } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: ${(e as Error).message}`);
  }
  const obj = (Array.isArray(raw) ? { findings: raw } : raw) as { findings?: unknown[]; model?: unknown };
  if (!Array.isArray(obj.findings)) fail(`${file}: expected an array of findings or { "findings": [...] }`);
  const findings = obj.findings.map((f, i) => {
    const r = FindingSchema.safeParse(f);
    if (!r.success) fail(`${file}: finding ${i}: ${describeIssues(r.error).join('; ')}`);
    return r.data;
  });
  const model = obj.model === undefined ? undefined : ModelRefSchema.parse(obj.model);
  return { findings, model };
}

