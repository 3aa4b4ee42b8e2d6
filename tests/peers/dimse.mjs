// dcmjs-dimse as a peer of caseport (tests/e2e/test_peers.sh): one operation a run.
//   node dimse.mjs PORT CALLING echo
//   node dimse.mjs PORT CALLING store FILE...
//   node dimse.mjs PORT CALLING find STUDY_UID        prints a line per match
//   node dimse.mjs PORT CALLING get STUDY_UID OUTDIR  writes what arrives, one file each
// Prints "status 0xNNNN" for the final response (and counts for C-GET); exit 0 when the
// operation ended without a network error.
import path from 'node:path';
import dimse from 'dcmjs-dimse';

const { Client } = dimse;
const { CEchoRequest, CStoreRequest, CFindRequest, CGetRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status } = dimse.constants;

const [port, calling, op, ...args] = process.argv.slice(2);
const hex = (s) => '0x' + s.toString(16).padStart(4, '0');
let failed = false;

const client = new Client();
client.on('networkError', (e) => {
  console.log('network error: ' + e.message);
  failed = true;
});
const writes = []; // files being written: the process ends after them
client.on('closed', async () => {
  await Promise.all(writes);
  process.exit(failed ? 1 : 0);
});

function final(request, extra) {
  request.on('response', (r) => {
    if (r.getStatus() !== Status.Pending)
      console.log('status ' + hex(r.getStatus()) + (extra ? ' ' + extra(r) : ''));
  });
  client.addRequest(request);
}

if (op === 'echo') {
  final(new CEchoRequest());
} else if (op === 'store') {
  for (const f of args) final(new CStoreRequest(f));
} else if (op === 'find') {
  const request = CFindRequest.createStudyFindRequest({
    StudyInstanceUID: args[0], PatientName: '', PatientID: '', StudyDate: '',
    NumberOfStudyRelatedInstances: '',
  });
  request.on('response', (r) => {
    if (r.getStatus() === Status.Pending && r.hasDataset()) {
      const d = r.getDataset();
      console.log('match ' + [d.getElement('PatientID'), d.getElement('PatientName'),
        d.getElement('NumberOfStudyRelatedInstances')].join('|'));
    }
  });
  final(request);
} else if (op === 'get') {
  let n = 0;
  client.on('cStoreRequest', (request, callback) => {
    const file = path.join(args[1], `${++n}.dcm`);
    writes.push(new Promise((done) => request.getDataset().toFile(file, (e) => {
      if (e) {
        console.log('cannot write ' + file + ': ' + e.message);
        failed = true;
      }
      done();
    })));
    const response = CStoreResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  });
  final(CGetRequest.createStudyGetRequest(args[0]),
    (r) => `completed ${r.getCompleted()} failed ${r.getFailures()}`);
} else {
  console.log('unknown operation ' + op);
  process.exit(2);
}
client.send('127.0.0.1', Number(port), calling, 'CASEPORT');
