// The supervisor's watchdog: a tiny helper process that ends every server process group the
// supervisor started if the supervisor dies without doing so itself (SIGKILL, OOM kill, crash).
// Plain JavaScript with no imports beyond Node, so it starts in a few tens of milliseconds and
// works wherever the library runs. Spawned by watchdog.ts; see there for why it exists.
//
// Protocol, on stdin, one command a line:
//   +<pgid>   watch this process group
//   -<pgid>   forget it (it ended, or the supervisor ended it)
//   close     normal shutdown: exit at once, killing nothing
// Once running it writes `ready\n` on stdout, and never writes anything again.
//
// When stdin ends without `close` (the supervisor died: the kernel closed its end of the pipe),
// or the parent pid changes (checked every 500 ms, a fallback), every watched group gets SIGTERM
// and SIGCONT (a SIGSTOPped server must be able to act on the SIGTERM); whatever group is left
// after the grace period (argv[2], default 2000 ms) gets SIGKILL; then the helper exits.

import process from 'node:process';

const graceMs = Number(process.argv[2] ?? 2000);
const PARENT_POLL_MS = 500;
const EXIT_POLL_MS = 50;

const parentPid = process.ppid;
/** @type {Set<number>} */
const watched = new Set();
let done = false;
let pending = '';

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing is left in the group (EPERM: not ours to signal)
  }
}

/** True while any process (a zombie included) is still in the group. */
function groupExists(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error?.code === 'EPERM';
  }
}

function quit(code) {
  done = true;
  process.exit(code);
}

async function reap() {
  if (done) return;
  done = true;
  const groups = [...watched];
  for (const pgid of groups) {
    signalGroup(pgid, 'SIGTERM');
    signalGroup(pgid, 'SIGCONT');
  }
  const deadline = Date.now() + graceMs;
  let left = groups.filter(groupExists);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
    left = left.filter(groupExists);
  }
  for (const pgid of left) signalGroup(pgid, 'SIGKILL');
  process.exit(0);
}

function command(line) {
  const text = line.trim();
  if (text === '') return;
  if (text === 'close') return quit(0);
  const pgid = Number(text.slice(1));
  // Never 0 or 1: kill(0) would signal our own group, kill(-1) every process we may signal.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return;
  if (text[0] === '+') watched.add(pgid);
  else if (text[0] === '-') watched.delete(pgid);
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  if (done) return;
  const lines = (pending + chunk).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    command(line);
    if (done) return;
  }
});
// EOF (or a broken pipe) without `close`: whoever held the other end is gone.
process.stdin.on('end', () => void reap());
process.stdin.on('error', () => void reap());

setInterval(() => {
  if (process.ppid !== parentPid) void reap();
}, PARENT_POLL_MS);

// Signals keep their default action. Those for the supervisor's terminal never reach us (we lead
// our own session); whoever signals this process itself means it, and killing the servers of a
// supervisor that may well be alive would be the wrong answer to that.

process.stdout.on('error', () => undefined);
process.stdout.write('ready\n');
