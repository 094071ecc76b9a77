// The official AsyncAPI parser (@asyncapi/parser, installed from the npm registry into the
// test servers' cache by tests/integration/test_contract_documents.py) on one document: prints
// every diagnostic and the channels' addresses as JSON lines; exit 1 when the document is invalid.
import { Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(process.argv[2], 'utf8'));
const problems = diagnostics.filter(d => d.severity === 0);
for (const d of diagnostics) console.log(JSON.stringify({severity: d.severity, code: d.code, message: d.message, path: d.path}));
console.log(JSON.stringify({valid: document !== undefined && problems.length === 0, channels: document ? document.channels().all().map(c => c.address()) : []}));
process.exit(document && problems.length === 0 ? 0 : 1);
