/**
 * The sender's screen, rendered from events as the headless core emits them (U1, U11): the
 * closing line, the receivers' numbers and what a failed pairing shows.
 */
import { Emitter } from '@ferry/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OfferSource } from '@ferry/engine';
import type { Sender, SenderEvents } from '../../src/sender.ts';
import { REFUSAL_EVERY_MS, renderSender } from '../../src/ui/render.ts';
import { fakeIo, runCleanup } from '../helpers.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;
const OFFER: OfferSource = {
  entries: [{ kind: 'file', path: 'a.txt', size: 11 }],
  sources: new Map(),
  skipped: [],
  fileCount: 1,
  totalBytes: 11,
};

/** Text rendering of events emitted by hand, as ferry-send prints them without a terminal. */
function screen(once = false) {
  const events = new Emitter<SenderEvents>();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const io = fakeIo();
  renderSender(Object.assign(events, { stopped }) as unknown as Sender, OFFER, io, false, once);
  return { events, lines: () => io.stdout.lines, stop };
}

/** The listening event, encrypted on port 7878, with `addresses` to type. */
function listening(
  events: Emitter<SenderEvents>,
  addresses: SenderEvents['listening']['addresses'] = [],
) {
  events.emit('listening', {
    port: 7878,
    host: undefined,
    addresses,
    encryption: true,
    fingerprint: '93E1 2CF8 2297 390E',
  });
}

describe('the closing line (U1)', () => {
  it('U1: gives the transfer time and a rounded rate, never a raw number', () => {
    const { events, lines } = screen();
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('hello', { client: 1, peer: '127.0.0.1:5000', name: 'bob' });
    // The cases: 11 B taking 13 s, and 345 MiB taking 2.7 s.
    events.emit('session-complete', {
      client: 1,
      peer: '127.0.0.1:5000',
      files: 1,
      failed: 0,
      bytes: 11,
      ms: 13_000,
    });
    events.emit('connected', { client: 2, peer: '127.0.0.1:5001' });
    events.emit('hello', { client: 2, peer: '127.0.0.1:5001', name: 'carol' });
    events.emit('session-complete', {
      client: 2,
      peer: '127.0.0.1:5001',
      files: 1,
      failed: 0,
      bytes: 345 * MiB,
      ms: 2_700,
    });
    expect(lines().filter((line) => line.includes(' took '))).toEqual([
      '#1 127.0.0.1:5000 (bob) took 1 file (11 B) in 13s at 1 B/s',
      '#2 127.0.0.1:5001 (carol) took 1 file (345 MiB) in 2.7s at 128 MiB/s',
    ]);
  });

  it('U1: gives no rate for a transfer too short to measure', () => {
    const { events, lines } = screen();
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('hello', { client: 1, peer: '127.0.0.1:5000', name: 'bob' });
    events.emit('session-complete', {
      client: 1,
      peer: '127.0.0.1:5000',
      files: 1,
      failed: 0,
      bytes: 11,
      ms: 3,
    });
    expect(lines().at(-1)).toBe('#1 127.0.0.1:5000 (bob) took 1 file (11 B) in less than 0.1s');
  });
});

describe("the sender's screen (U11)", () => {
  it('U11: numbers receivers from #1 once they greet, not connections that hung up to ask for the code', () => {
    const { events, lines } = screen();
    // The receiver's first connection learns that a code is needed and hangs up.
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('session-failed', {
      client: 1,
      peer: '127.0.0.1:5000',
      code: 'ERR_CONNECTION_CLOSED',
      message: 'the peer closed the connection',
    });
    events.emit('connected', { client: 2, peer: '127.0.0.1:5001' });
    events.emit('authenticated', {
      client: 2,
      peer: '127.0.0.1:5001',
      method: 'code',
      fingerprint: '93E1 2CF8 2297 390E',
    });
    events.emit('hello', { client: 2, peer: '127.0.0.1:5001', name: 'bob' });
    events.emit('connected', { client: 3, peer: '127.0.0.1:5002' });
    events.emit('hello', { client: 3, peer: '127.0.0.1:5002', name: 'carol' });
    expect(lines().filter((line) => line.includes(' connected'))).toEqual([
      '#1 127.0.0.1:5001 (bob) connected (paired with the code, key 93E1 2CF8 2297 390E)',
      '#2 127.0.0.1:5002 (carol) connected',
    ]);
  });

  it('U11: after a wrong attempt, shows the code still valid on the same line, and no advice meant for the receiver', () => {
    const { events, lines } = screen();
    listening(events);
    events.emit('code', { code: '4821-3307', reason: 'first', failed: 0 });
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('pairing-failed', { client: 1, failed: 1, limit: 3 });
    events.emit('session-failed', {
      client: 1,
      peer: '127.0.0.1:5000',
      code: 'ERR_PAIRING_FAILED',
      message:
        'the pairing was refused: the code was wrong, or already used; check the code the sender shows now',
    });
    expect(lines().at(-1)).toBe(
      'A receiver gave a wrong pairing code (1 of 3 attempts). Pairing code: 4821-3307',
    );
    expect(lines().join('\n')).not.toContain('check the code the sender shows');
  });

  it('U11: at the last attempt, leaves the new code to the next line', () => {
    const { events, lines } = screen();
    listening(events);
    events.emit('code', { code: '4821-3307', reason: 'first', failed: 0 });
    events.emit('pairing-failed', { client: 1, failed: 3, limit: 3 });
    events.emit('code', { code: '1111-2222', reason: 'retired', failed: 3 });
    expect(lines().slice(-2)).toEqual([
      'A receiver gave a wrong pairing code (3 of 3 attempts).',
      "3 wrong attempts: that code no longer works. New pairing code: 1111-2222    (this sender's key: 93E1 2CF8 2297 390E)",
    ]);
  });
});

describe('the addresses to type', () => {
  it('writes a link-local address with its interface as the zone, and says the other machine puts its own after %', () => {
    const { events, lines } = screen();
    listening(events, [
      { address: 'fe80::1c2:3ff:fe4d:5e6f%eth0', family: 'IPv6', interface: 'eth0' },
    ]);
    expect(lines().slice(1, 4)).toEqual([
      'On the other machine, run one of:',
      '  ferry-receive [fe80::1c2:3ff:fe4d:5e6f%eth0]:7878    (eth0)',
      "After %, put the other machine's interface (ip addr or ifconfig shows it).",
    ]);
    expect(lines().every((line) => line.length <= 80)).toBe(true);
  });

  it('says nothing of zones when no address is link-local', () => {
    const { events, lines } = screen();
    listening(events, [{ address: 'fd00::5e1', family: 'IPv6', interface: 'wlan0' }]);
    expect(lines()).toContain('  ferry-receive [fd00::5e1]:7878    (wlan0)');
    expect(lines().join('\n')).not.toContain('After %');
  });
});

describe('refused connections on the screen (K3)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('K3: reports every refusal, a flood as counts: the first at once, then one line per reason at most every 10 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { events, lines, stop } = screen();
    const reason = 'too many connections waiting to authenticate';
    for (let i = 0; i < 500; i++)
      events.emit('refused', { peer: `127.0.0.2:${10_000 + i}`, reason });
    events.emit('refused', { peer: '127.0.0.3:5000', reason: 'stopping' });
    expect(lines()).toEqual([
      `refused 127.0.0.2:10000: ${reason}`,
      'refused 127.0.0.3:5000: stopping',
    ]);
    vi.advanceTimersByTime(REFUSAL_EVERY_MS);
    expect(lines().slice(2)).toEqual([`refused 499 more connections: ${reason}`]);
    // Still flooding: counted again, and what is held when the sender stops is printed then.
    for (let i = 0; i < 3; i++) events.emit('refused', { peer: `127.0.0.2:${20_000 + i}`, reason });
    expect(lines()).toHaveLength(3);
    stop();
    await Promise.resolve();
    expect(lines().slice(3)).toEqual([`refused 3 more connections: ${reason}`]);
  });

  it('K3: a held count is printed when its own reason may be shown again, not when another reason is due', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { events, lines } = screen();
    const early = 'too many connections waiting to authenticate';
    const late = 'too many connections from one address';
    events.emit('refused', { peer: '127.0.0.2:1000', reason: early });
    vi.advanceTimersByTime(REFUSAL_EVERY_MS / 2);
    events.emit('refused', { peer: '127.0.0.3:1000', reason: late });
    vi.advanceTimersByTime(1_000);
    events.emit('refused', { peer: '127.0.0.2:1001', reason: early });
    events.emit('refused', { peer: '127.0.0.3:1001', reason: late });
    expect(lines()).toHaveLength(2);
    // 10 s after the first line: only its reason is due; the other was shown 5 s ago.
    vi.advanceTimersByTime(REFUSAL_EVERY_MS / 2 - 1_000);
    expect(lines().slice(2)).toEqual([`refused 1 more connection: ${early}`]);
    vi.advanceTimersByTime(REFUSAL_EVERY_MS / 2);
    expect(lines().slice(2)).toEqual([
      `refused 1 more connection: ${early}`,
      `refused 1 more connection: ${late}`,
    ]);
  });
});

describe('--once and the next pairing code', () => {
  it('U11: with --once the next code is not announced after a pairing, only if the transfer fails', () => {
    const { events, lines } = screen(true);
    events.emit('code', { code: '4821-3307', reason: 'first', failed: 0 });
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('code', { code: '1111-2222', reason: 'used', failed: 0 });
    events.emit('hello', { client: 1, peer: '127.0.0.1:5000', name: 'bob' });
    events.emit('session-complete', {
      client: 1,
      peer: '127.0.0.1:5000',
      files: 1,
      failed: 0,
      bytes: 11,
      ms: 1000,
    });
    expect(lines().join('\n')).not.toContain('Next pairing code');
    expect(lines().join('\n')).not.toContain('1111-2222');
  });

  it('U11: with --once a failed transfer shows the next code, since ferry-send goes on', () => {
    const { events, lines } = screen(true);
    events.emit('code', { code: '4821-3307', reason: 'first', failed: 0 });
    events.emit('connected', { client: 1, peer: '127.0.0.1:5000' });
    events.emit('code', { code: '1111-2222', reason: 'used', failed: 0 });
    events.emit('hello', { client: 1, peer: '127.0.0.1:5000', name: 'bob' });
    events.emit('session-failed', {
      client: 1,
      peer: '127.0.0.1:5000',
      code: 'ERR_TIMEOUT',
      message: 'timed out',
    });
    expect(
      lines().some((line) => line.startsWith('That code is used up. Next pairing code: 1111-2222')),
    ).toBe(true);
  });

  it('without --once the next code is announced at once', () => {
    const { events, lines } = screen();
    events.emit('code', { code: '1111-2222', reason: 'used', failed: 0 });
    expect(
      lines().some((line) => line.startsWith('That code is used up. Next pairing code: 1111-2222')),
    ).toBe(true);
  });
});
