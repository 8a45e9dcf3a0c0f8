// Preloaded (`node --require`) into a measured in-process app by bench/put-paired.ts: at exit it writes
// the main thread's CPU seconds (utime + stime of /proc/self/task/<pid>/stat, clock ticks of 10 ms) to
// stderr as `main-thread-cpu <seconds>`. The main thread is the one that issues the reads, hashes and
// writes the socket; the process's CPU beyond it is libuv's pool, V8's helpers and any worker thread.
// CommonJS and a file of the bench's own tree, so that it applies to every tree measured, old ones too.
const { readFileSync, writeSync } = require('node:fs');

process.on('exit', () => {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    writeSync(2, `main-thread-cpu ${(Number(fields[11]) + Number(fields[12])) / 100}\n`);
  } catch {
    // No /proc: the column stays empty.
  }
});
