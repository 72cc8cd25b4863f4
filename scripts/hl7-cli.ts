/**
 * HL7 command line:
 *   npm run hl7 -- oru <findings.json> [--status P|F|C] [--accession A] [--patient-id ID] [--priority P]
 *                  [--signer-id rita --signer-name "Reader^Rita"] [--control-id ID] [--report "text"]
 * prints the ORU^R01 (segments end with \r, as on the wire). F and C need a signer.
 */
import { buildOru, type ResultStatus } from '../src/core/hl7/oru.js';
import { Hl7Error } from '../src/core/hl7/codec.js';
import { loadFindings } from './sr-cli-lib.js';
import crypto from 'node:crypto';

const [cmd, file, ...args] = process.argv.slice(2);
const opt = (n: string) => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : undefined;
};
if (cmd !== 'oru' || !file) {
  console.error('usage: hl7 oru <findings.json> [--status P|F|C] [--accession A] [--patient-id ID] [--signer-id ID --signer-name NAME]');
  process.exit(2);
}
const { findings, model } = loadFindings(file);
const status = (opt('--status') ?? 'P') as ResultStatus;
const signerId = opt('--signer-id');
try {
  const text = buildOru({
    controlId: opt('--control-id') ?? `RS${crypto.randomBytes(9).toString('hex')}`,
    at: new Date().toISOString(),
    status,
    accession: opt('--accession') ?? findings[0]?.studyInstanceUID ?? '',
    studyInstanceUID: findings[0]?.studyInstanceUID ?? '',
    patient: { id: opt('--patient-id') ?? 'UNKNOWN' },
    findings,
    model: model ?? findings[0]?.model ?? { name: 'none', version: '0', manufacturer: 'Reading Station Demo' },
    ...(opt('--priority') ? { priority: opt('--priority') } : {}),
    ...(opt('--report') ? { reportText: opt('--report') } : {}),
    ...(signerId ? { signer: { id: signerId, name: opt('--signer-name') ?? signerId, at: new Date().toISOString() } } : {}),
  });
  process.stdout.write(text);
} catch (e) {
  if (e instanceof Hl7Error) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
