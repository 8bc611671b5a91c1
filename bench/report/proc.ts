// CPU time of benchmark servers that run as child processes, read from Linux /proc (no sampling, no agent).

import fs from 'node:fs';

// Linux /proc/<pid>/stat: utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 per second).
const TICK_MS = 10;

function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it start at state (field 3).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User + system CPU time, in ms, that the processes have used so far (processes gone count 0). */
export function cpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const fields = procStat(pid);
    return fields ? sum + (Number(fields[11]) + Number(fields[12])) * TICK_MS : sum;
  }, 0);
}

/** The live processes of a process group. */
export function processGroup(pgid: number): number[] {
  const pids = fs.existsSync('/proc') ? fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)) : [];
  return pids.map(Number).filter((pid) => procStat(pid)?.[2] === String(pgid));
}

/** A process's arguments joined by spaces ('' when it is gone). */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
