// CPU a process has used, for benchmarks that report CPU per request beside rates (which other work on a shared
// machine moves far more).
import fs from 'node:fs';

/** CPU seconds used so far by a process (user + system), from /proc; 0 where there is no /proc. */
export function cpuSeconds(pid: number): number {
  try {
    // After the command name in parentheses (which may itself hold ") "): state, ..., utime, stime in ticks.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
