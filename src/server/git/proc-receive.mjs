// Slipway's proc-receive hook. git (receive.procReceiveRefs = refs/environments) hands it the
// updates of a push under refs/environments instead of writing them: each is a promotion
// (`git push slipway <commit>:refs/environments/staging`). It asks the server to promote, prints
// what happened, and reports `ok <ref>` or `ng <ref> <code>` per ref, which the pushing client
// shows as `* [new reference]` or `! [remote rejected] … (<code>)`; nothing is ever stored.
//
// It speaks git's pkt-line protocol on stdin/stdout (githooks(5), "proc-receive"):
//   git  → hook: version=1\0<features>, flush; commands `<old> <new> <ref>`, flush;
//                push options, flush (only when the hook asked for them)
//   hook → git:  version=1\0push-options, flush; `ok <ref>` | `ng <ref> <reason>` …, flush
// stderr reaches the client as `remote:` lines. Unlike post-receive it fails closed: when the
// server cannot be asked, every ref is refused. Plain JavaScript: node runs it without loaders.
//
// Environment (set by the server for this one push; never the user's token):
//   SLIPWAY_HOOK_URL    loopback listener of the server that spawned git
//   SLIPWAY_PUSH_TOKEN  proves which push this is; dies with the push
/* global fetch, AbortSignal, Buffer */

const ARROW = '----->';
const INDENT = '       ';

const hookUrl = process.env.SLIPWAY_HOOK_URL ?? '';
const token = process.env.SLIPWAY_PUSH_TOKEN ?? '';

function say(line) {
  process.stderr.write(`${line}\n`);
}

/** Reads pkt-lines from a stream: `next()` → a string (newline chomped), 'flush', or 'eof'. */
function packetReader(stream) {
  const chunks = stream[Symbol.asyncIterator]();
  let buffer = Buffer.alloc(0);
  async function fill(size) {
    while (buffer.length < size) {
      const { value, done } = await chunks.next();
      if (done) return false;
      buffer = Buffer.concat([buffer, value]);
    }
    return true;
  }
  return {
    async next() {
      if (!(await fill(4))) return 'eof';
      const hex = buffer.subarray(0, 4).toString('latin1');
      if (!/^[0-9a-f]{4}$/i.test(hex)) throw new Error(`malformed pkt-line length ${JSON.stringify(hex)}`);
      const length = Number.parseInt(hex, 16);
      // 0000 is a flush; 0001 and 0002 (delimiters of protocol v2) do not occur here and end a section too.
      if (length < 4) {
        buffer = buffer.subarray(4);
        return 'flush';
      }
      if (!(await fill(length))) return 'eof';
      const payload = buffer.subarray(4, length).toString('utf8');
      buffer = buffer.subarray(length);
      return payload.endsWith('\n') ? payload.slice(0, -1) : payload;
    },
  };
}

/** Packets up to the next flush. */
async function readSection(reader) {
  const packets = [];
  for (;;) {
    const packet = await reader.next();
    if (packet === 'flush') return packets;
    if (packet === 'eof') throw new Error('git closed the conversation early');
    packets.push(packet);
  }
}

function packet(text) {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

const FLUSH = Buffer.from('0000', 'latin1');

function send(buffers) {
  return new Promise((resolve, reject) => process.stdout.write(Buffer.concat(buffers), (err) => (err ? reject(err) : resolve())));
}

/** A reason git puts in parentheses: one short line. */
function reasonOf(code) {
  const reason = String(code ?? 'refused').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return reason === '' ? 'refused' : reason;
}

async function promote(commands, pushOptions, atomic) {
  const response = await fetch(new URL('/internal/git/promotions', hookUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ commands, pushOptions, atomic }),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`the server answered ${response.status} with something that is not JSON (${err.message})`);
  }
  if (!response.ok) throw new Error(`${json?.error?.code ?? response.status}: ${json?.error?.message ?? 'refused'}`);
  return json.results;
}

async function main() {
  const reader = packetReader(process.stdin);
  const version = await readSection(reader);
  const features = (version[0] ?? '').split('\0')[1]?.split(' ') ?? [];
  await send([packet('version=1\0push-options'), FLUSH]);
  const commands = (await readSection(reader)).map((line) => {
    const [before, after, ...rest] = line.split(' ');
    return { before, after, ref: rest.join(' ') };
  });
  const pushOptions = await readSection(reader);
  if (commands.length === 0) {
    await send([FLUSH]);
    return;
  }

  let results;
  try {
    if (hookUrl === '' || token === '') throw new Error("this repository was pushed to outside Slipway's git server");
    results = await promote(commands, pushOptions, features.includes('atomic'));
  } catch (err) {
    say(`${ARROW} Slipway could not promote: ${err instanceof Error ? err.message : String(err)}`);
    results = commands.map((c) => ({ ref: c.ref, status: 'ng', code: 'UNAVAILABLE', lines: [] }));
  }
  const byRef = new Map(results.map((r) => [r.ref, r]));
  const report = [];
  for (const command of commands) {
    const result = byRef.get(command.ref) ?? { status: 'ng', code: 'NO_ANSWER', lines: [] };
    result.lines.forEach((line, i) => say(i === 0 ? `${ARROW} ${line}` : `${INDENT}${line}`));
    report.push(packet(result.status === 'ok' ? `ok ${command.ref}` : `ng ${command.ref} ${reasonOf(result.code)}`));
  }
  await send([...report, FLUSH]);
}

try {
  await main();
  process.exit(0);
} catch (err) {
  // git refuses every ref this hook did not report on ("proc-receive failed to report status").
  say(`${ARROW} Slipway's promotion hook failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
