import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodePreamble, FrameType, PreambleFlag } from '@ferry/protocol';
import { fingerprintHex, loadOrCreateIdentity, shortFingerprint } from '@ferry/protocol/node';
import { describe, expect, it } from 'vitest';
import {
  assertExit,
  digits,
  finishReceiver,
  hashTree,
  type JsonEvent,
  listTree,
  makeConfigDir,
  makeTempDir,
  RECEIVE_BIN,
  type ReceiverRun,
  type RunningSender,
  receiveAll,
  runReceiver,
  SEND_BIN,
  startReceiver,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { spawnCli } from '@ferry/testkit/cli-process';
import { spawnOnPty } from '@ferry/testkit/pty';
import { framesIn, recorded, startMitm, startTap } from '@ferry/testkit/relays';

const MiB = 1024 * 1024;
const CODE_PROMPT = 'Pairing code shown by ferry-send:';

/** Names no other output contains by chance: a failing receiver or an attacker must see none. */
const NAMES = [
  'quarterly-secret-report.txt',
  'Holiday Photos',
  'beach-sunset-0042.jpg',
  'payload-random.bin',
] as const;

/** The source folder of most tests here, what it offers, and what must not leak from it. */
interface Source {
  readonly src: string;
  /** The top-level items to offer. */
  readonly items: string[];
  /** Every offered name, and a distinctive 32-byte slice of the 1.5 MiB random file. */
  readonly secrets: (string | Buffer)[];
}

/** A text file, a folder with a picture, and a 1.5 MiB random file. */
async function source(): Promise<Source> {
  const src = await makeTempDir('src');
  await writeFileAt(src, 'quarterly-secret-report.txt', 'Revenue: confidential\n');
  await writeFileAt(src, 'Holiday Photos/beach-sunset-0042.jpg', Buffer.alloc(20_000, 0xd8));
  const big = path.join(src, 'payload-random.bin');
  await writeRandomFile(big, 1.5 * MiB);
  const slice = (await fs.readFile(big)).subarray(700_001, 700_033);
  return {
    src,
    items: ['quarterly-secret-report.txt', 'Holiday Photos', 'payload-random.bin'].map((name) =>
      path.join(src, name),
    ),
    secrets: [...NAMES, slice],
  };
}

/** A one-file source, for tests about the link rather than the files. */
async function smallSource(): Promise<{ src: string; file: string }> {
  const src = await makeTempDir('src');
  const file = await writeFileAt(src, 'note.txt', 'small but real\n');
  return { src, file };
}

/** The needles found in `haystack`, shown readably (a Buffer as hex). */
function found(haystack: string | Buffer, needles: readonly (string | Buffer)[]): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return needles
    .filter((needle) => bytes.includes(needle))
    .map((needle) => (typeof needle === 'string' ? needle : `0x${needle.toString('hex')}`));
}

/** Both ways a code may be written: `1234-5678` and `12345678`. */
function forms(code: string): string[] {
  return [`${digits(code).slice(0, 4)}-${digits(code).slice(4)}`, digits(code)];
}

/** A code that is not `code`: its last digit plus `n` (1 to 9). */
function wrongCode(code: string, n: number): string {
  const d = digits(code);
  return `${d.slice(0, 4)}-${d.slice(4, 7)}${(Number(d[7]) + n) % 10}`;
}

/** The names of a run's JSON events, in order. */
function eventNames(events: readonly JsonEvent[]): string[] {
  return events.map((e) => e.event);
}

/** The short fingerprint of the identity key in `configDir` (read only after the CLI made it). */
async function keyOf(configDir: string): Promise<string> {
  return shortFingerprint((await loadOrCreateIdentity(configDir)).fingerprint);
}

/**
 * Asserts the run failed with exit 1, connected and then `code` as its only JSON events (S6:
 * the TCP connection is announced before it is secured), and its message on stderr.
 */
function assertRefused(run: ReceiverRun, code: string): string {
  assertExit(run, 1);
  expect(eventNames(run.events), run.report('events of a refused run')).toEqual(['connected', 'error']);
  expect(run.last).toMatchObject({ event: 'error', code });
  const message = run.last!.message as string;
  expect(run.stderr.split('\n')[0]).toBe(`ferry-receive: ${message}`);
  // One error line (and at most a hint after it); never a stack trace.
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
  return message;
}

/** Waits for the sender to report the session of `client` failed with `code`. */
async function senderFailed(sender: RunningSender, client: number, code: string): Promise<void> {
  const failed = await sender.waitForEvent(
    'session-failed',
    (e) => e.client === client,
    WAIT.reactMs,
  );
  expect(failed, sender.process.log.report('unexpected failure')).toMatchObject({ code });
  // It never got as far as a greeting.
  expect(sender.events.filter((e) => e.client === client && e.event === 'hello')).toEqual([]);
}

/** A receiver run with the sender's current code now succeeds: the sender kept serving. */
async function stillServes(sender: RunningSender, src: string, args: string[] = []): Promise<void> {
  const out = await makeTempDir('out-later');
  const run = await receiveAll(sender, out, { args });
  assertExit(run, 0);
  expect(await hashTree(out)).toEqual(await hashTree(src));
  expect(sender.process.running).toBe(true);
}

describe('pairing with the code ferry-send shows', () => {
  it('right code: delivers a few files (one of 1.5 MiB) byte for byte, and a tap on the wire sees no name, no file bytes and no code (G3)', async () => {
    const { src, items, secrets } = await source();
    const sender = await startSender(items);
    const code = sender.code();
    const tap = await startTap(sender.port);
    const out = await makeTempDir('out');

    const run = await receiveAll(tap.address, out, { code: sender });

    assertExit(run, 0);
    expect(await hashTree(out)).toEqual(await hashTree(src));
    // Both sides proved their keys: the receiver sees the sender's, the sender the receiver's.
    expect(sender.fingerprint).toBe(await keyOf(sender.configDir));
    expect(run.events.find((e) => e.event === 'secured')).toEqual({
      event: 'secured',
      encrypted: true,
      method: 'code',
      fingerprint: sender.fingerprint,
    });
    const authenticated = await sender.waitForEvent('authenticated');
    expect(authenticated).toMatchObject({
      client: 1,
      method: 'code',
      fingerprint: await keyOf(run.process.configDir),
    });
    // The code is used up: the sender shows a new one.
    const next = await sender.waitForEvent('code', (e) => e.reason === 'used');
    expect(next.code).not.toBe(code);
    await sender.waitForEvent('session-complete', (e) => e.client === 1);

    // On the wire: both preambles ask for TLS, then only ciphertext.
    const tlsPreamble = Buffer.from(encodePreamble(1, PreambleFlag.TLS));
    expect(Buffer.concat(tap.recording.fromReceiver).subarray(0, 12)).toEqual(tlsPreamble);
    expect(Buffer.concat(tap.recording.fromSender).subarray(0, 12)).toEqual(tlsPreamble);
    const wire = recorded(tap.recording);
    expect(wire.byteLength).toBeGreaterThan(1.5 * MiB);
    expect(found(wire, [...secrets, ...forms(code)])).toEqual([]);

    // The control: the same tap on a transfer in clear finds every name and the file bytes.
    const clear = await startSender(items, ['--no-encryption']);
    const clearTap = await startTap(clear.port);
    const clearOut = await makeTempDir('out-clear');
    assertExit(await receiveAll(clearTap.address, clearOut, { args: ['--no-encryption'] }), 0);
    expect(found(recorded(clearTap.recording), secrets)).toHaveLength(secrets.length);
  });

  it('G1 wrong code: the receiver exits 1 with ERR_PAIRING_FAILED having seen and written nothing, and the sender reports it and keeps serving', async () => {
    const { src, items } = await source();
    const sender = await startSender(items);
    const out = await makeTempDir('out');

    const run = await receiveAll(sender, out, { code: wrongCode(sender.code(), 1) });

    const message = assertRefused(run, 'ERR_PAIRING_FAILED');
    expect(message).toBe(
      'wrong pairing code: it does not match the code ferry-send shows (if you typed it exactly, someone may be intercepting the connection)',
    );
    expect(await listTree(out)).toEqual([]);
    expect(found(run.stdout + run.stderr, NAMES)).toEqual([]);
    await senderFailed(sender, 1, 'ERR_PAIRING_FAILED');
    expect(sender.events.filter((e) => e.event === 'pairing-failed')).toEqual([
      { event: 'pairing-failed', client: 1, failed: 1, limit: 3 },
    ]);
    expect(sender.events.filter((e) => e.event === 'authenticated')).toEqual([]);
    await stillServes(sender, src);
  });

  it('G2 attempts: after 3 wrong codes the code is retired and a new one shown; the old code then fails and the new one works', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file]);
    const old = sender.code();
    const out = await makeTempDir('out');

    for (let attempt = 1; attempt <= 3; attempt++) {
      const run = await receiveAll(sender, out, { code: wrongCode(old, attempt) });
      assertRefused(run, 'ERR_PAIRING_FAILED');
      await sender.waitForEvent('pairing-failed', (e) => e.failed === attempt, WAIT.reactMs);
    }
    const retired = await sender.waitForEvent('code', (e) => e.reason === 'retired', WAIT.reactMs);

    expect(retired).toMatchObject({ reason: 'retired', failed: 3 });
    expect(retired.code).not.toBe(old);
    expect(
      sender.events
        .filter((e) => e.event === 'code' || e.event === 'pairing-failed')
        .map((e) => (e.event === 'code' ? `code ${e.reason}` : `failed ${e.failed}`)),
    ).toEqual(['code first', 'failed 1', 'failed 2', 'failed 3', 'code retired']);
    const withOld = await receiveAll(sender, out, { code: old });
    assertRefused(withOld, 'ERR_PAIRING_FAILED');
    await senderFailed(sender, 4, 'ERR_PAIRING_FAILED');
    expect(await listTree(out)).toEqual([]);
    const withNew = await receiveAll(sender, out, { code: retired.code as string });
    assertExit(withNew, 0);
    expect(await hashTree(out)).toEqual(await hashTree(src));
  });

  it('takes the code from the first line of stdin with --code-stdin', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file]);
    const out = await makeTempDir('out');

    const run = await runReceiver(
      ['--yes', '--json', '--code-stdin', '--out', out, sender.address],
      { input: `${sender.code()}\n` },
    );

    assertExit(run, 0);
    expect(run.events.find((e) => e.event === 'secured')).toMatchObject({ method: 'code' });
    expect(await hashTree(out)).toEqual(await hashTree(src));
  });

  it('asks for the code on a terminal, naming the sender key, and transfers once it is typed', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file]);
    const out = await makeTempDir('out');
    const cwd = await makeTempDir('cwd');
    const terminal = spawnOnPty(RECEIVE_BIN, ['--yes', '--out', out, sender.address], { cwd });

    const asked = await terminal.waitForText(
      `The sender (key ${sender.fingerprint}) needs the pairing code`,
      WAIT.startMs,
    );
    await terminal.waitForText(CODE_PROMPT, WAIT.reactMs, asked);
    terminal.type(`${sender.code()}\r`);
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    expect(terminal.screen()).toContain(
      `(encrypted; paired with the code, sender key ${sender.fingerprint})`,
    );
    // It hung up to ask, then paired on a second connection.
    expect(await sender.waitForEvent('authenticated')).toMatchObject({ client: 2, method: 'code' });
    expect(sender.events.filter((e) => e.event === 'authenticated')).toHaveLength(1);
  });

  it('U5: with stdout redirected to a file, the code is asked on the terminal, and the file gets no prompt', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file]);
    const out = await makeTempDir('out');
    const dir = await makeTempDir('redirect');
    const stdoutFile = path.join(dir, 'stdout.txt');
    // `ferry-receive ... > stdout.txt` typed on a terminal: stdin and stderr stay the terminal.
    const wrapper = path.join(dir, 'redirect.mjs');
    await fs.writeFile(
      wrapper,
      [
        "import { spawn } from 'node:child_process';",
        "import fs from 'node:fs';",
        'const [target, script, ...args] = process.argv.slice(2);',
        "const fd = fs.openSync(target, 'w');",
        "const child = spawn(process.execPath, [script, ...args], { stdio: ['inherit', fd, 'inherit'] });",
        "child.on('exit', (code) => process.exit(code ?? 1));",
      ].join('\n'),
    );
    const terminal = spawnOnPty(wrapper, [stdoutFile, RECEIVE_BIN, '--yes', '--out', out, sender.address], { cwd: dir });
    await terminal.waitForText(CODE_PROMPT, WAIT.startMs);
    terminal.type(`${sender.code()}\r`);
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    const written = await fs.readFile(stdoutFile, 'utf8');
    expect(written).toMatch(/Saved 1 file/);
    expect(written).not.toContain(CODE_PROMPT);
    expect(written).not.toContain('\x1b[');
  });
});

describe('remembered peers', () => {
  it('need no code once both sides remembered each other; --peers lists and --forget removes the sender, which then needs a code again', async () => {
    const { src, file } = await smallSource();
    const senderConfig = makeConfigDir('sender-config');
    const receiverConfig = makeConfigDir('receiver-config');
    const first = await startSender([file], ['--remember', '--name', 'alice'], {
      configDir: senderConfig,
    });

    const paired = await receiveAll(first, await makeTempDir('out-1'), {
      configDir: receiverConfig,
      args: ['--remember', '--name', 'bob-laptop'],
    });

    assertExit(paired, 0);
    const receiverKey = await keyOf(receiverConfig);
    const remembered = paired.events.find((e) => e.event === 'remembered');
    expect(remembered).toMatchObject({ result: 'added', fingerprint: first.fingerprint });
    const senderName = remembered!.name as string;
    expect(senderName).toMatch(/^alice@./);
    // U13: both sides remember the other as announced name @ where it is.
    expect(await first.waitForEvent('remembered')).toMatchObject({
      name: 'bob-laptop@127.0.0.1',
      fingerprint: receiverKey,
      result: 'added',
    });
    await first.stop();

    // A new run of the same sender (same folder, same key), and no code at all.
    const second = await startSender([file], ['--name', 'alice'], { configDir: senderConfig });
    expect(second.fingerprint).toBe(first.fingerprint);
    const out2 = await makeTempDir('out-2');
    const trusted = await receiveAll(second.address, out2, { configDir: receiverConfig });

    assertExit(trusted, 0);
    expect(await hashTree(out2)).toEqual(await hashTree(src));
    expect(trusted.events.find((e) => e.event === 'secured')).toEqual({
      event: 'secured',
      encrypted: true,
      method: 'trusted',
      fingerprint: second.fingerprint,
      rememberedAs: senderName,
    });
    expect(await second.waitForEvent('authenticated')).toMatchObject({
      method: 'trusted',
      fingerprint: receiverKey,
    });
    // The code was not needed, so it is not used up.
    expect(second.events.filter((e) => e.event === 'code')).toHaveLength(1);

    const listed = await runReceiver(['--peers'], { configDir: receiverConfig });
    assertExit(listed, 0);
    expect(listed.stdout).toContain(`${senderName}  key ${second.fingerprint}, last at 127.0.0.1`);
    const senderPeers = spawnCli(SEND_BIN, ['--peers', '--json'], { configDir: senderConfig });
    expect(await senderPeers.waitForExit(WAIT.startMs)).toEqual({ code: 0, signal: null });
    expect(senderPeers.events[0]).toMatchObject({
      event: 'peers',
      peers: [{ name: 'bob-laptop@127.0.0.1' }],
    });
    // U13: --forget takes the key as displayed: its first group is enough, in any case.
    expect(receiverKey).toMatch(/^[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}$/);
    const forgotByKey = spawnCli(SEND_BIN, ['--forget', receiverKey.slice(0, 4).toLowerCase()], { configDir: senderConfig });
    expect(await forgotByKey.waitForExit(WAIT.startMs)).toEqual({ code: 0, signal: null });
    expect(forgotByKey.log.stdout).toContain(`Forgot "bob-laptop@127.0.0.1" (key ${receiverKey})`);

    const forgot = await runReceiver(['--forget', senderName], { configDir: receiverConfig });
    assertExit(forgot, 0);
    expect(forgot.stdout).toContain(`Forgot "${senderName}"`);
    const none = await runReceiver(['--peers', '--json'], { configDir: receiverConfig });
    expect(none.events).toEqual([{ event: 'peers', peers: [] }]);

    const out3 = await makeTempDir('out-3');
    const forgotten = await receiveAll(second.address, out3, { configDir: receiverConfig });
    // No terminal and no code: a usage error (U6).
    assertExit(forgotten, 2);
    expect(eventNames(forgotten.events)).toEqual(['connected', 'code-needed', 'error']);
    expect(forgotten.events[1]).toEqual({ event: 'code-needed', fingerprint: second.fingerprint });
    expect(forgotten.last).toMatchObject({ event: 'error', code: 'ERR_CODE_REQUIRED' });
    expect(await listTree(out3)).toEqual([]);
  });

  it('G5 changed key: a different sender at the address of a remembered one is refused before anything is sent, and the remembered key stays', async () => {
    const { src, items } = await source();
    const receiverConfig = makeConfigDir('receiver-config');
    const original = await startSender(items, ['--name', 'alice']);
    const paired = await receiveAll(original, await makeTempDir('out-1'), {
      configDir: receiverConfig,
      args: ['--remember'],
    });
    assertExit(paired, 0);
    const remembered = paired.events.find((e) => e.event === 'remembered');
    expect(remembered).toMatchObject({ result: 'added', fingerprint: original.fingerprint });
    await original.stop();
    const peersFile = path.join(receiverConfig, 'trusted-senders.json');
    const peersBefore = await fs.readFile(peersFile);

    // Same name, same address, another key (a new config folder); even its right code is not enough.
    const impostor = await startSender(items, ['--name', 'alice']);
    expect(impostor.fingerprint).not.toBe(original.fingerprint);
    const out = await makeTempDir('out-2');
    const run = await receiveAll(impostor, out, { configDir: receiverConfig });

    const message = assertRefused(run, 'ERR_KEY_CHANGED');
    expect(message).toContain(
      `the sender at 127.0.0.1 shows a different key than "${remembered!.name}"`,
    );
    // The suggested command names the remembered key, never peer-chosen text.
    const originalKey = fingerprintHex(
      (await loadOrCreateIdentity(original.configDir)).fingerprint,
    );
    // U13: both keys, in the form the apps display keys, and a --forget that takes it.
    expect(message).toContain(`remembered key ${original.fingerprint}, new key ${impostor.fingerprint}`);
    expect(message).toContain(`ferry-receive --forget "${original.fingerprint}"`);
    expect(await listTree(out)).toEqual([]);
    expect(found(run.stdout + run.stderr, NAMES)).toEqual([]);
    expect(await fs.readFile(peersFile)).toEqual(peersBefore);
    const peers = await runReceiver(['--peers', '--json'], { configDir: receiverConfig });
    expect(peers.events).toEqual([
      { event: 'peers', peers: [expect.objectContaining({ fingerprint: originalKey })] },
    ]);
    // The impostor got no pairing attempt (nothing to guess with) and no greeting.
    await senderFailed(impostor, 1, 'ERR_KEY_CHANGED');
    expect(impostor.events.filter((e) => e.event === 'pairing-failed')).toEqual([]);
    expect(impostor.events.filter((e) => e.event === 'authenticated')).toEqual([]);
    await stillServes(impostor, src);
  });

  it('G5 changed key: a sender whose key changes while the user types the code is refused', async () => {
    const { file } = await smallSource();
    const first = await startSender([file]);
    const out = await makeTempDir('out');
    const cwd = await makeTempDir('cwd');
    const terminal = spawnOnPty(RECEIVE_BIN, ['--yes', '--out', out, first.address], { cwd });
    await terminal.waitForText(CODE_PROMPT, WAIT.startMs);

    // While the receiver asks for the code, another sender (another key) takes over the port.
    expect(await first.stop()).toEqual({ code: 130, signal: null });
    const second = await startSender([file], [], { port: first.port });
    terminal.type(`${second.code()}\r`);
    const exit = await terminal.waitForExit(WAIT.reactMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 1, signal: null });
    // U13: both keys, as displayed (the screen may wrap the line).
    const screen = terminal.screen().replace(/\s+/g, ' ');
    expect(screen).toContain(`the sender showed key ${first.fingerprint} a moment ago and now shows ${second.fingerprint}`);
    expect(screen).toContain('someone may be intercepting the connection');
    expect(await listTree(out)).toEqual([]);
    expect(second.events.filter((e) => e.event === 'pairing-failed')).toEqual([]);
  });
});

describe('a man in the middle (G6/G7)', () => {
  it('relaying between two TLS sessions with its own key sees no name, no file bytes and no code, and the pairing fails on both sides', async () => {
    const { src, items, secrets } = await source();
    const sender = await startSender(items);
    const code = sender.code();
    const mitm = await startMitm(sender.port);
    const out = await makeTempDir('out');

    // The receiver has the RIGHT code: the relay is what makes it fail.
    const run = await receiveAll(mitm.address, out, { code: sender });

    const message = assertRefused(run, 'ERR_PAIRING_FAILED');
    expect(message).toMatch(/someone may be intercepting the connection/);
    expect(await listTree(out)).toEqual([]);
    expect(mitm.errors).toEqual([]);
    expect(mitm.accepted()).toBe(1);
    // What the relay read, decrypted: the pairing messages and nothing else.
    const fromReceiver = framesIn(mitm.recording.fromReceiver);
    const fromSender = framesIn(mitm.recording.fromSender);
    expect(fromReceiver.map((f) => f.type)).toEqual([FrameType.AUTH, FrameType.ERROR]);
    expect(fromReceiver[1]?.message).toMatchObject({ code: 'ERR_PAIRING_FAILED' });
    expect(fromSender.map((f) => f.type)).toEqual([FrameType.AUTH_REPLY]);
    expect(found(recorded(mitm.recording), [...secrets, ...forms(code)])).toEqual([]);
    // The sender counted a failed attempt, and still serves a receiver that connects directly.
    await senderFailed(sender, 1, 'ERR_PAIRING_FAILED');
    expect(sender.events.filter((e) => e.event === 'pairing-failed')).toEqual([
      { event: 'pairing-failed', client: 1, failed: 1, limit: 3 },
    ]);
    expect(sender.events.filter((e) => e.event === 'authenticated')).toEqual([]);
    await stillServes(sender, src);
  });
});

describe('the pairing code stays secret (G9)', () => {
  it('never shows up in trace logs, the receiver output or its command line, and a wrong code is not echoed', async () => {
    const { src, items } = await source();
    const sender = await startSender(items, ['--log-level', 'trace']);
    const trace = ['--log-level', 'trace'];

    const wrong = wrongCode(sender.code(), 3);
    const failed = await receiveAll(sender, await makeTempDir('out-wrong'), {
      code: wrong,
      args: trace,
    });
    assertRefused(failed, 'ERR_PAIRING_FAILED');
    expect(found(failed.stdout + failed.stderr, forms(wrong))).toEqual([]);
    await senderFailed(sender, 1, 'ERR_PAIRING_FAILED');

    const code = sender.code();
    const out = await makeTempDir('out');
    const receiver = await startReceiver(
      ['--yes', '--json', ...trace, '--out', out, sender.address],
      { code },
    );
    // Read while it runs (spawn returns once the process has exec'd; it takes far longer to end).
    const cmdline = readFileSync(`/proc/${receiver.pid}/cmdline`, 'utf8');
    const run = await finishReceiver(receiver, WAIT.transferMs);

    expect(cmdline.split('\0')).toContain(RECEIVE_BIN);
    expect(found(cmdline, forms(code))).toEqual([]);
    assertExit(run, 0);
    expect(await hashTree(out)).toEqual(await hashTree(src));
    await sender.waitForEvent('session-complete', (e) => e.client === 2);
    expect(await sender.stop()).toEqual({ code: 130, signal: null });
    // The logs are really on (pino JSON on stderr), and hold no code the sender ever showed.
    expect(run.stderr).toContain('"app":"ferry-receive"');
    expect(sender.process.log.stderr).toContain('"app":"ferry-send"');
    const shown = sender.events.filter((e) => e.event === 'code').map((e) => e.code as string);
    expect(shown).toHaveLength(2);
    const secrets = [...shown, wrong].flatMap(forms);
    expect(found(run.stdout + run.stderr, secrets)).toEqual([]);
    expect(found(failed.stderr, secrets)).toEqual([]);
    expect(found(sender.process.log.stderr, secrets)).toEqual([]);
  });

  it.each([[['--code', '12345678']], [['--code=12345678']]])(
    'refuses the code on the command line (%j): exit 2, and the value is not repeated',
    async (args) => {
      const run = await runReceiver([...args, '127.0.0.1:9'], { timeoutMs: WAIT.startMs });

      assertExit(run, 2);
      expect(run.stderr).toMatch(
        /^ferry-receive: the pairing code is never taken from the command line/,
      );
      expect(run.stderr).toMatch(/FERRY_CODE/);
      expect(found(run.stdout + run.stderr, ['12345678', '1234-5678'])).toEqual([]);
    },
  );
});

describe('encryption modes that do not match (G11)', () => {
  it('a receiver with --no-encryption and an encrypting sender both fail with ERR_ENCRYPTION_MISMATCH, and the sender keeps serving', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file]);
    const out = await makeTempDir('out');

    const run = await receiveAll(sender.address, out, { args: ['--no-encryption'] });

    const message = assertRefused(run, 'ERR_ENCRYPTION_MISMATCH');
    expect(message).toBe(
      'the sender requires encryption, but this side was started with --no-encryption; leave it out to transfer encrypted',
    );
    expect(await listTree(out)).toEqual([]);
    await senderFailed(sender, 1, 'ERR_ENCRYPTION_MISMATCH');
    await stillServes(sender, src);
  });

  it('an encrypting receiver and a sender with --no-encryption both fail with ERR_ENCRYPTION_MISMATCH: Ferry never falls back to clear', async () => {
    const { src, file } = await smallSource();
    const sender = await startSender([file], ['--no-encryption']);
    const out = await makeTempDir('out');

    const run = await receiveAll(sender.address, out);

    const message = assertRefused(run, 'ERR_ENCRYPTION_MISMATCH');
    expect(message).toBe(
      'the sender has encryption turned off (--no-encryption); Ferry never falls back to an unencrypted transfer',
    );
    expect(await listTree(out)).toEqual([]);
    await senderFailed(sender, 1, 'ERR_ENCRYPTION_MISMATCH');
    // In clear, only with both sides saying so.
    await stillServes(sender, src, ['--no-encryption']);
  });
});
