// Loaded into a transfer host with `--import` by bench/host-allocations.ts: V8's sampling heap profiler,
// counting objects the garbage collector has already freed as well, so the profile says which functions
// allocate the garbage, not only what stays. SIGUSR2 writes the profile to $BGTRANSFER_ALLOCATION_PROFILE
// and prints one line to stderr.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BGTRANSFER_ALLOCATION_PROFILE;
if (!out) throw new Error('BGTRANSFER_ALLOCATION_PROFILE is not set');
const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.on('SIGUSR2', () => {
  void post('HeapProfiler.stopSampling').then(({ profile }) => {
    writeFileSync(out, JSON.stringify(profile));
    process.stderr.write('allocation profile written\n');
  });
});
