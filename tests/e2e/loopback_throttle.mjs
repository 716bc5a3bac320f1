// Shaping UDP toward one port on `lo` with tc, for tests that throttle one
// participant's downlink (subscriber_bwe_chromium). Every tc command first
// checks that this process's network namespace has only `lo`: run through
// run_e2e.sh, never on a machine's own interfaces. This kernel has htb, u32
// and bfifo (no prio, no netem); what no filter classifies is not shaped.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

import { check, Failure } from './line_page.mjs';

const execFileAsync = promisify(execFile);

/** The interfaces of this process's network namespace. */
export async function interfaces() {
  const table = await readFile('/proc/net/dev', 'utf8');
  return table.split('\n').slice(2).map((line) => line.split(':')[0].trim()).filter(Boolean);
}

/** UDP counters of this namespace (/proc/net/snmp): RcvbufErrors, SndbufErrors, InErrors. */
export async function udpCounters() {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((line) => line.startsWith('Udp:'));
  const [names, values] = lines.map((line) => line.split(/\s+/).slice(1));
  const row = Object.fromEntries(names.map((name, index) => [name, Number(values[index])]));
  return { rcvbuf: row.RcvbufErrors, sndbuf: row.SndbufErrors, inErrors: row.InErrors };
}

/** Runs tc with `args` after checking, every time, that the namespace has only lo; its stdout. */
export async function tc(...args) {
  const names = await interfaces();
  check(names.length === 1 && names[0] === 'lo',
    `refusing to run tc: this network namespace has interfaces ${names.join(', ')}, not only lo (run through run_e2e.sh)`);
  try {
    const { stdout } = await execFileAsync('tc', args);
    return stdout;
  } catch (error) {
    throw new Failure(`tc ${args.join(' ')} failed (exit ${error.code}): ${(error.stderr ?? error.message).trim()}`);
  }
}

/**
 * UDP to `port` on lo at `kbit` kbit/s, with a queue of `queueMs` at that
 * rate (beyond it packets are dropped); returns the queue's bytes. Lift it
 * with `tc('qdisc', 'del', 'dev', 'lo', 'root')`.
 */
export async function throttle(port, kbit, queueMs) {
  const queueBytes = Math.max(6000, Math.round((kbit * 1000 / 8) * (queueMs / 1000)));
  // No `default` class: what no filter classifies is sent directly, unshaped.
  await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb');
  await tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:30', 'htb', 'rate', `${kbit}kbit`, 'ceil',
    `${kbit}kbit`, 'burst', '6kb', 'cburst', '6kb', 'quantum', '1600');
  await tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:30', 'handle', '30:', 'bfifo', 'limit', String(queueBytes));
  await tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol',
    '17', '0xff', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:30');
  return queueBytes;
}

/** The throttle class's counters (sent, dropped, backlog), one line. */
export async function throttleStats() {
  const lines = (await tc('-s', 'class', 'show', 'dev', 'lo')).split('\n').map((line) => line.trim());
  const at = lines.findIndex((line) => line.startsWith('class htb 1:30'));
  return at < 0 ? 'no class 1:30' : lines.slice(at, at + 3).join(' ');
}
