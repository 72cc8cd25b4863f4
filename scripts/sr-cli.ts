/**
 * SR command line (admins, integration tests):
 *   npm run sr -- write <findings.json> <out.dcm> [--source image.dcm] [--kind ai|verified] [--signer "Family^Given"] [--org NAME]
 *   npm run sr -- read <in.dcm>                  prints { findings, warnings, document } as JSON
 *   npm run sr -- example <image.dcm>            prints sample findings on that image (a starting findings.json)
 * findings.json: an array of Findings, or { "findings": [...], "model": {...} }.
 */
import fs from 'node:fs';
import { parseDicomPart10, writeDicomPart10 } from '../src/core/sr/dicom.js';
import { buildMeasurementReport, studyFromDataset, type SrStudy } from '../src/core/sr/writer.js';
import { readMeasurementReport } from '../src/core/sr/reader.js';
import { sampleFindings } from '../src/core/sr/testing.js';
import { newUid } from '../src/core/sr/uid.js';
import { loadFindings } from './sr-cli-lib.js';

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}`);
  console.error('usage: sr write <findings.json> <out.dcm> [--source image.dcm] [--kind ai|verified] [--signer NAME] [--org NAME]\n       sr read <in.dcm>\n       sr example <image.dcm>');
  process.exit(2);
}

function opt(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'read') {
  if (!args[0]) usage('read needs a file');
  const r = readMeasurementReport(parseDicomPart10(fs.readFileSync(args[0])));
  console.log(JSON.stringify(r, null, 2));
} else if (cmd === 'example') {
  if (!args[0]) usage('example needs a source image');
  console.log(JSON.stringify(sampleFindings(parseDicomPart10(fs.readFileSync(args[0]))), null, 2));
} else if (cmd === 'write') {
  const [inFile, outFile] = args;
  if (!inFile || !outFile) usage('write needs <findings.json> <out.dcm>');
  const { findings, model } = loadFindings(inFile);
  if (!findings.length) usage('no findings');
  const kind = (opt(args, '--kind') ?? (findings.every((f) => f.status !== 'ai-unverified') ? 'verified' : 'ai')) as 'ai' | 'verified';
  const source = opt(args, '--source');
  const study: SrStudy = source ? studyFromDataset(parseDicomPart10(fs.readFileSync(source))) : { StudyInstanceUID: findings[0].studyInstanceUID };
  const signerName = opt(args, '--signer') ?? findings.find((f) => f.verdict)?.verdict?.by;
  const ds = buildMeasurementReport({
    kind,
    findings,
    study,
    model: model ?? findings[0].model,
    sopInstanceUID: newUid(),
    seriesInstanceUID: newUid(),
    contentDateTime: new Date().toISOString(),
    ...(kind === 'verified' && signerName ? { signer: { name: signerName, organization: opt(args, '--org') ?? 'Reading Station Demo Hospital', at: new Date().toISOString() } } : {}),
  });
  fs.writeFileSync(outFile, writeDicomPart10(ds));
  console.error(`wrote ${kind} SR ${String(ds.SOPInstanceUID)} with ${findings.length} finding(s) to ${outFile}`);
} else {
  usage(cmd ? `unknown command ${cmd}` : undefined);
}
