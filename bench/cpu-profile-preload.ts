/**
 * Preloaded into the agent binary (NODE_OPTIONS=--import) when `npm run bench` runs with
 * BENCH_AGENT_CPU_PROFILE=<dir>: V8's sampling profiler over the agent's whole life, written
 * as <dir>/agent-<pid>.cpuprofile when it exits (Chrome DevTools or any .cpuprofile reader
 * opens it). Node refuses --cpu-prof in NODE_OPTIONS; the inspector protocol does the same.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['BENCH_AGENT_CPU_PROFILE'];
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  // An in-thread inspector session answers synchronously, so this completes inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `agent-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
