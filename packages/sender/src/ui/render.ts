import {
  encryptionOffWarning,
  formatBytes,
  formatDuration,
  formatProgress,
  formatProgressLine,
  type Io,
  isWorthShowing,
  plural,
  printJson,
  printJsonBatched,
  PROGRESS_EVERY_MS,
  ProgressMeter,
  ProgressPacer,
  rememberedLines,
  type SENDER_JSON_EVENTS,
  type SenderJsonEvent,
  StatusLine,
} from '@ferry/cli';
import type { OfferSource } from '@ferry/engine';
import { escapeForDisplay as esc } from '@ferry/protocol';
import { formatHostPort } from '../addresses.ts';
import { qrLines } from '../link/qr.ts';
import type { Sender, SenderEvents } from '../sender.ts';

/** What the caller tells the view: that the user stopped ferry-send, so cut sessions are not failures. */
export interface SenderView {
  interrupt(): void;
}

/** Renders a sender's events: text for people (a live line on a terminal), or JSON lines. */
export function renderSender(sender: Sender, offer: OfferSource, io: Io, json: boolean, once = false, chat = false, qr = false): SenderView {
  const view = {
    interrupted: false,
    interrupt() {
      view.interrupted = true;
    },
  };
  if (json) {
    renderJson(sender, offer, io);
    return view;
  }
  const out = io.stdout;
  const status = StatusLine.for(out);
  const tty = Boolean(out.isTTY);
  // `shown`: the receiver's number on this screen, given once it has greeted. Connections that
  // never get that far (a receiver hanging up to ask its user for the code, a stranger) take
  // no number, so the first receiver is #1 (U11).
  const clients = new Map<number, { peer: string; name: string; shown?: number; auth?: string; meter?: ProgressMeter; pacer?: ProgressPacer }>();
  let receivers = 0;
  const label = (client: number) => {
    const c = clients.get(client);
    if (!c) return 'a receiver';
    if (c.shown === undefined) return `a receiver at ${c.peer}`;
    return `#${c.shown} ${c.peer}${c.name ? ` (${esc(c.name)})` : ''}`;
  };
  let currentCode: string | undefined;

  // In a conversation people join with --chat; the conversation's screen says who joined.
  const receive = chat ? 'ferry-receive --chat' : 'ferry-receive';
  sender.on('listening', ({ port, addresses, encryption }) => {
    const offering = offeringText(offer);
    if (!chat) status.print(`Offering ${offering}.`);
    else status.print(offer.entries.length === 0 ? 'Holding a conversation.' : `Holding a conversation; offering ${offering} to each one who joins.`);
    for (const skipped of offer.skipped) status.print(`  skipped ${esc(skipped.path)}: ${skipped.reason}`);
    if (addresses.length === 0) {
      status.print(`Listening on port ${port}, but this machine has no network address other than loopback.`);
      status.print(`On this machine: ${receive} 127.0.0.1:${port}`);
    } else {
      status.print('On the other machine, run one of:');
      for (const a of addresses) status.print(`  ${receive} ${formatHostPort(a.address, port)}${a.interface ? `    (${a.interface})` : ''}`);
      // A link-local address's zone is this machine's interface; the other machine names its own.
      if (addresses.some((a) => a.address.includes('%'))) status.print("After %, put the other machine's interface (ip addr or ifconfig shows it).");
    }
    if (qr) {
      status.print('The first command, as a QR code:');
      for (const line of qrLines(`${receive} ${formatHostPort(addresses[0]?.address ?? '127.0.0.1', port)}`)) status.print(line);
    }
    if (!encryption) {
      const exposed = chat
        ? 'this conversation and its files in transit, and anyone who can reach this port can join without a code.'
        : 'these files in transit, and anyone who can reach this port can take them without a code.';
      for (const line of encryptionOffWarning(exposed)) {
        status.print(line);
      }
    }
    if (!chat) status.print('Waiting for receivers. Press Ctrl-C to stop.');
  });
  let key = '';
  sender.on('listening', ({ fingerprint }) => {
    key = fingerprint ?? '';
  });
  sender.on('code', ({ code, reason, failed }) => {
    const intro =
      reason === 'first'
        ? 'Pairing code'
        : reason === 'used'
          ? 'That code is used up. Next pairing code'
          : `${failed} wrong attempt${failed === 1 ? '' : 's'}: that code no longer works. New pairing code`;
    currentCode = code;
    const line = `${intro}: ${code}    (this sender's key: ${key})`;
    // With --once the next code matters only if this transfer fails and ferry-send goes on.
    if (once && reason === 'used') nextCode = line;
    else status.print(line);
  });
  let nextCode: string | undefined;
  const showNextCode = () => {
    if (nextCode !== undefined) status.print(nextCode);
    nextCode = undefined;
  };
  sender.on('session-failed', showNextCode);
  sender.on('session-complete', ({ failed }) => {
    if (failed > 0) showNextCode();
  });
  sender.on('pairing-failed', ({ failed, limit }) => {
    // The code still valid is shown again on the same line, so it never scrolls away (U11);
    // at the limit the next line shows the new one.
    const still = failed < limit && currentCode ? ` Pairing code: ${currentCode}` : '';
    status.print(`A receiver gave a wrong pairing code (${failed} of ${limit} attempts).${still}`);
  });
  sender.on('pairing-closed', ({ failed }) => {
    currentCode = undefined;
    status.print(`${failed} wrong pairing attempts: pairing is off until ferry-send restarts. Remembered receivers can still connect.`);
  });
  sender.on('authenticated', ({ client, method, fingerprint, rememberedAs }) => {
    const c = clients.get(client);
    if (c) {
      c.auth =
        method === 'trusted'
          ? `remembered as "${esc(rememberedAs ?? '?')}", key ${fingerprint}`
          : method === 'resume'
            ? `reconnected with its transfer's ticket, key ${fingerprint}`
            : `paired with the code, key ${fingerprint}`;
    }
  });
  sender.on('remembered', (event) => {
    for (const line of rememberedLines(event, 'receiver', 'ferry-send', 'it needs no code next time.')) status.print(line);
  });
  sender.on('connected', ({ client, peer }) => {
    clients.set(client, { peer, name: '' });
  });
  sender.on('hello', ({ client, name }) => {
    const c = clients.get(client);
    if (c) {
      c.name = name;
      c.shown = ++receivers;
    }
    if (chat) return;
    status.print(`${label(client)} connected${c?.auth ? ` (${c.auth})` : ''}`);
  });
  sender.on('request', ({ client, files, bytes }) => {
    const c = clients.get(client);
    if (c) {
      c.meter = new ProgressMeter(bytes, performance.now());
      c.pacer = new ProgressPacer(tty ? PROGRESS_EVERY_MS.tty : PROGRESS_EVERY_MS.plain);
    }
    status.print(`${label(client)} is taking ${plural(files, 'file')} (${formatBytes(bytes)})`);
  });
  sender.on('progress', ({ client, bytes }) => {
    const c = clients.get(client);
    if (!c?.meter || !c.pacer) return;
    c.meter.add(bytes);
    const now = performance.now();
    const snapshot = c.pacer.next(c.meter, now);
    if (!snapshot) return;
    if (tty) {
      // Every receiver's progress on one line, in the most detailed form that fits.
      const entries = [...clients.values()].flatMap((v) => {
        const s = v === c ? snapshot : v.meter?.snapshot(now);
        return s && isWorthShowing(s) ? [{ label: `#${v.shown}`, snapshot: s }] : [];
      });
      status.show(formatProgressLine(entries, status.width));
    } else {
      status.print(`${label(client)} ${formatProgress(snapshot)}`);
    }
  });
  sender.on('file-failed', ({ client, path, code }) => {
    status.print(`${label(client)} did not save ${esc(path)} (${esc(code)})`);
  });
  sender.on('session-resumed', ({ client, files, skippedBytes }) => {
    status.print(`${label(client)} resumed: ${plural(files, 'file')}, ${formatBytes(skippedBytes)} not sent again`);
  });
  sender.on('file-restarted', ({ client, path, bytes }) => {
    // Sent whole after all: the progress counts the bytes that now travel too.
    if (bytes) clients.get(client)?.meter?.grow(bytes);
    status.print(`${label(client)} gets ${esc(path)} whole, from its first byte: it changed since the interrupted transfer, or the receiver's part differs`);
  });
  sender.on('session-complete', ({ client, files, failed, bytes, ms }) => {
    const failures = failed > 0 ? `, ${failed} failed` : '';
    status.print(`${label(client)} took ${plural(files, 'file')} (${formatBytes(bytes)}) ${formatTransferTime(bytes, ms)}${failures}`);
    clients.delete(client);
  });
  sender.on('session-failed', ({ client, code, message, resumable }) => {
    const c = clients.get(client);
    const who = label(client);
    clients.delete(client);
    if (c?.shown === undefined) {
      // A receiver that hangs up before authenticating is usually asking its user for the code.
      if (code === 'ERR_CONNECTION_CLOSED') return;
      // Said already by the pairing-failed line, which shows the code still valid. The
      // message is the receiver's advice to its user ("check the code the sender shows").
      if (code === 'ERR_PAIRING_FAILED') return;
      if (code === 'ERR_PAIRING_UNAVAILABLE') {
        status.print(`${who} could not pair: pairing is closed, or busy with other attempts.`);
        return;
      }
    }
    // Stopped here (Ctrl-C): the receiver did nothing wrong.
    if (view.interrupted) status.print(`${who} was cut off when ferry-send stopped; it keeps only the files it had finished`);
    // Choosing nothing is the receiver's answer, not a failure of either side.
    else if (code === 'ERR_DECLINED') status.print(`${who} took nothing: its user chose no files`);
    // Its user interrupted it (Ctrl-C): not a choice, and not a failure of this side.
    else if (code === 'ERR_CANCELLED' && !c?.meter) status.print(`${who} took nothing: its user cancelled before choosing`);
    else if (code === 'ERR_CANCELLED') status.print(`${who} stopped: its user cancelled; it keeps only the files it had finished`);
    // Its ticket stays live: the receiver reconnects by itself, or its user runs it again.
    else if (resumable) status.print(`${who} lost the connection; it can reconnect to resume.`);
    else status.print(`${who} failed: ${esc(message)} (${esc(code)})`);
  });
  sender.on('trust-error', ({ message }) => {
    // Ferry's own text; any file name in it is the user's own configuration path.
    status.print(`${message} Until then every receiver needs a pairing code.`);
  });
  // Every refusal is reported, but a flood (thousands a second) as counts, not a line each.
  const refusals = new RefusalLines((line) => status.print(line));
  sender.on('refused', ({ peer, reason }) => refusals.report(peer, reason));
  void sender.stopped.then(() => refusals.flush());
  return view;
}

/** `3 files (1.2 MiB) in 2 items`. */
function offeringText(offer: OfferSource): string {
  const items = new Set(offer.entries.map((e) => e.path.split('/')[0]));
  return `${plural(offer.fileCount, 'file')} (${formatBytes(offer.totalBytes)}) in ${plural(items.size, 'item')}`;
}

/** The line printed when the window changes the offer (nothing with --json: the window shows it). */
export function renderOfferChange(offer: OfferSource, io: Io, json: boolean): void {
  if (json) return;
  const what = offer.entries.length === 0 ? 'nothing' : offeringText(offer);
  StatusLine.for(io.stdout).print(`Now offering ${what} to receivers that connect from now on.`);
}

function renderJson(sender: Sender, offer: OfferSource, io: Io): void {
  // Every event is printed as SENDER_JSON_EVENTS declares it, which the README documents.
  const print = <K extends keyof typeof SENDER_JSON_EVENTS>(event: K, fields: SenderJsonEvent<K>) =>
    printJson(io.stdout, event, fields);
  sender.on('listening', (e) => print('listening', { ...e, files: offer.fileCount, bytes: offer.totalBytes, skipped: [...offer.skipped] }));
  const totals = new Map<number, { bytes: number; shownAt: number }>();
  sender.on('progress', ({ client, bytes }) => {
    const t = totals.get(client) ?? { bytes: 0, shownAt: 0 };
    t.bytes += bytes;
    totals.set(client, t);
    const now = performance.now();
    if (now - t.shownAt < PROGRESS_EVERY_MS.json) return;
    t.shownAt = now;
    print('progress', { client, bytes: t.bytes });
  });
  const forward = <K extends keyof SenderEvents & keyof typeof SENDER_JSON_EVENTS>(event: K, fields: (e: SenderEvents[K]) => SenderJsonEvent<K>) =>
    sender.on(event, (e) => print(event, fields(e)));
  forward('code', (e) => e);
  forward('pairing-failed', (e) => e);
  forward('pairing-closed', (e) => e);
  forward('trust-error', (e) => e);
  forward('authenticated', (e) => e);
  forward('remembered', (e) => e);
  forward('connected', (e) => e);
  forward('hello', (e) => e);
  forward('request', (e) => e);
  // One line per file: it may wait for the end of the turn, written with the others.
  sender.on('file-sent', (e) => printJsonBatched(io.stdout, 'file-sent', e satisfies SenderJsonEvent<'file-sent'>));
  forward('file-failed', (e) => e);
  forward('refused', (e) => e);
  for (const event of ['session-complete', 'session-failed'] as const) sender.on(event, ({ client }) => totals.delete(client));
  forward('session-complete', (e) => e);
  forward('session-failed', ({ client, peer, code, message }) => ({ client, peer, code, message }));
  forward('session-resumed', (e) => e);
  forward('file-restarted', ({ client, path, reason }) => ({ client, path, reason }));
}

/**
 * `in 2.7s at 128 MiB/s`: the transfer's own time, from REQUEST, with a rounded rate; no rate
 * for a transfer too short to measure one (U1), or one that sent no byte.
 */
export function formatTransferTime(bytes: number, ms: number): string {
  if (ms < 100) return 'in less than 0.1s';
  const time = ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
  // Nothing travelled (every file was already there): a rate of 0 B/s would read as a stall.
  if (bytes === 0) return `in ${time}`;
  return `in ${time} at ${formatBytes(Math.round((bytes * 1000) / ms))}/s`;
}

/** A refusal is shown on its own line at most this often per reason; the rest are counted. */
export const REFUSAL_EVERY_MS = 10_000;

/**
 * Lines for refused connections (K3): the first of each reason at once, then at most one line
 * per reason every {@link REFUSAL_EVERY_MS} with how many more were refused meanwhile.
 */
class RefusalLines {
  readonly #print: (line: string) => void;
  readonly #shownAt = new Map<string, number>();
  readonly #held = new Map<string, number>();
  /** One timer per reason held back, due when that reason may be shown again. */
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(print: (line: string) => void) {
    this.#print = print;
  }

  report(peer: string, reason: string): void {
    const now = performance.now();
    const last = this.#shownAt.get(reason);
    if (last === undefined || now - last >= REFUSAL_EVERY_MS) {
      this.#flushOne(reason);
      this.#shownAt.set(reason, now);
      this.#print(`refused ${peer}: ${reason}`);
      return;
    }
    this.#held.set(reason, (this.#held.get(reason) ?? 0) + 1);
    if (this.#timers.has(reason)) return;
    const timer = setTimeout(() => this.#flushOne(reason), REFUSAL_EVERY_MS - (now - last));
    this.#timers.set(reason, timer.unref());
  }

  /** Prints every count held back (when the sender stops). */
  flush(): void {
    for (const reason of [...this.#held.keys()]) this.#flushOne(reason);
  }

  #flushOne(reason: string): void {
    clearTimeout(this.#timers.get(reason));
    this.#timers.delete(reason);
    const count = this.#held.get(reason);
    this.#held.delete(reason);
    if (!count) return;
    this.#shownAt.set(reason, performance.now());
    this.#print(`refused ${plural(count, 'more connection')}: ${reason}`);
  }
}
