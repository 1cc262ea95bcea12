import path from 'node:path';
import {
  comparePathsNaturally,
  encryptionOffWarning,
  formatBytes,
  formatProgress,
  type Io,
  offerLines,
  plural,
  printJson,
  printJsonBatched,
  PROGRESS_EVERY_MS,
  ProgressMeter,
  ProgressPacer,
  type RECEIVER_JSON_EVENTS,
  type ReceiverJsonEvent,
  rememberedLines,
  reportFields,
  reportLines,
  SEE_ALL,
  StatusLine,
  summarizeLines,
} from '@ferry/cli';
import { escapeForDisplay as esc } from '@ferry/protocol';
import { hiddenTopLevel } from '@ferry/engine';
import type { ReceiveResult, Receiver } from '../receiver.ts';
import { formatSeconds } from '../reconnect.ts';

/** Prints the closing summary; `cancelled` when the user cancelled a prompt. */
export type Summarise = (result: ReceiveResult, cancelled: boolean) => void;

/** Renders a receiver's events for people or as JSON lines; returns the summary printer. */
export function renderReceiver(receiver: Pick<Receiver, 'on'>, io: Io, json: boolean, verbose = false): Summarise {
  return json ? renderJson(receiver, io) : renderText(receiver, io, verbose);
}

function renderText(receiver: Pick<Receiver, 'on'>, io: Io, verbose: boolean): Summarise {
  const status = StatusLine.for(io.stdout);
  const tty = Boolean(io.stdout.isTTY);
  let meter: ProgressMeter | undefined;
  let pacer: ProgressPacer | undefined;
  receiver.on('code-needed', ({ fingerprint }) => {
    status.print(`The sender (key ${fingerprint}) needs the pairing code it shows.`);
  });
  let address = '';
  receiver.on('connected', (event) => {
    address = event.address;
  });
  receiver.on('secured', ({ encrypted, method, fingerprint, rememberedAs }) => {
    if (!encrypted) {
      for (const line of encryptionOffWarning('this transfer, and nothing proves who the sender is.')) status.print(line);
      status.print(`Connected to ${address}.`);
      return;
    }
    // A remembered sender is named as this user remembered it, which is who it really is,
    // whatever name it claims or address it answers at.
    const how =
      method === 'trusted'
        ? ` (encrypted; remembered sender "${esc(rememberedAs ?? '?')}", key ${fingerprint})`
        : method === 'resume'
          ? ` (encrypted; reconnected with this transfer's ticket, sender key ${fingerprint})`
          : ` (encrypted; paired with the code, sender key ${fingerprint})`;
    status.print(`Connected to ${address}${how}.`);
  });
  receiver.on('remembered', (event) => {
    const note = 'no code is needed next time if it remembers you too.';
    for (const line of rememberedLines(event, 'sender', 'ferry-receive', note)) status.print(line);
  });
  receiver.on('offer', ({ offer, sender, renamed, folders }) => {
    const from = `${esc(sender.name)} on ${esc(sender.host)}`;
    for (const line of offerLines({ from, offer, renamed, folders, verbose })) status.print(line);
  });
  receiver.on('report', (report) => {
    for (const line of reportLines(report)) status.print(line);
  });
  receiver.on('resume-found', ({ files, heldBytes, totalBytes }) => {
    status.print(
      `${partlyReceived(files, heldBytes, totalBytes)} here by an interrupted transfer from this sender.`,
    );
  });
  receiver.on('start', ({ outDir, files, bytes, resumedBytes, presentFiles }) => {
    // Only the bytes still missing travel: progress counts those.
    meter = new ProgressMeter(Math.max(0, bytes - resumedBytes), performance.now());
    pacer = new ProgressPacer(tty ? PROGRESS_EVERY_MS.tty : PROGRESS_EVERY_MS.plain);
    const held =
      resumedBytes > 0
        ? `; resuming, ${formatBytes(resumedBytes)} already here is not sent again`
        : '';
    // Files of the same name and size are proven by their SHA-256 before anything is written.
    const there = presentFiles > 0 ? `; ${presentFiles} may be there already, checked first` : '';
    status.print(`Saving ${plural(files, 'file')} (${formatBytes(bytes)}) to ${outDir}${held}${there}`);
  });
  receiver.on('progress', ({ bytes }) => {
    if (!meter || !pacer) return;
    // After a reconnect the bytes since what reached the disk come again: never past 100%.
    meter.add(Math.min(bytes, Math.max(0, meter.total - meter.bytes)));
    const snapshot = pacer.next(meter, performance.now());
    if (!snapshot) return;
    const line = formatProgress(snapshot);
    if (tty) status.show(line);
    else status.print(line);
  });
  receiver.on('file-failed', ({ offered, code, message }) => {
    status.print(`Not saved: ${esc(offered)}: ${esc(message)} (${esc(code)})`);
  });
  // Each one is counted in the summary; a long list of them is for --verbose.
  if (verbose) {
    receiver.on('file-present', ({ path, size }) => {
      status.print(`Already there: ${esc(path)} (${formatBytes(size)}); nothing written.`);
    });
  }
  receiver.on('file-restarted', ({ offered, reason }) => {
    status.print(
      reason === 'differs'
        ? `Not the same file: ${esc(offered)} here differs from the sender's; receiving it whole, to save under a new name.`
        : `Starting over: ${esc(offered)} changed since the interrupted transfer, or the part kept here differs; receiving it whole.`,
    );
  });
  receiver.on('connection-lost', ({ message, code, retryMs }) => {
    status.print(
      `Lost the connection to the sender (${esc(message)}, ${esc(code)}); reconnecting for up to ${formatSeconds(retryMs)}...`,
    );
  });
  receiver.on('reconnecting', ({ attempt, delayMs }) => {
    const line = `Reconnecting (attempt ${attempt}) in ${formatSeconds(delayMs)}; Ctrl-C stops and keeps what arrived.`;
    if (tty) status.show(line);
    else status.print(line);
  });
  receiver.on('resumed', ({ files, heldBytes }) => {
    status.print(
      `Reconnected: resuming ${plural(files, 'file')}, ${formatBytes(heldBytes)} not sent again.`,
    );
  });
  receiver.on('partial-kept', ({ dir, files }) => {
    status.print(keptLines(dir, files));
  });
  return (result, cancelled) => {
    status.clear();
    if (result.declined) {
      io.stdout.write(cancelled ? 'Cancelled; nothing was saved.\n' : 'You chose no items, so nothing was saved.\n');
      return;
    }
    const bytes = result.saved.reduce((sum, file) => sum + file.size, 0);
    const saved = plural(result.saved.length, 'file');
    // Files already there, whole, are counted apart: nothing was written for them.
    const present = result.present.length > 0 ? `, ${result.present.length} already there` : '';
    // Every digest was checked; the digests themselves are for --verbose and --json.
    if (result.saved.length === 0 && result.present.length > 0 && result.failed.length === 0) {
      status.print(`Nothing to save: all ${plural(result.present.length, 'file')} are already there in ${result.outDir}, each verified with SHA-256.`);
    } else if (!verbose) {
      status.print(`Saved ${saved} (${formatBytes(bytes)}) to ${result.outDir}${present}, each verified with SHA-256.`);
    } else {
      status.print(`Saved ${saved} (${formatBytes(bytes)}) to ${result.outDir}${present}:`);
      const files = [...result.saved].sort((a, b) => comparePathsNaturally(a.path, b.path));
      for (const file of files) status.print(`  ${esc(file.path)}  ${formatBytes(file.size)}  sha256:${file.sha256}`);
    }
    if (result.failed.length > 0) {
      status.print(`${plural(result.failed.length, 'file')} not saved:`);
      const lines = result.failed.map((file) => `  ${esc(file.offered)}: ${esc(file.message)} (${esc(file.code)})`);
      for (const line of summarizeLines(lines, verbose, SEE_ALL)) status.print(line);
    }
  };
}

function renderJson(receiver: Pick<Receiver, 'on'>, io: Io): Summarise {
  // Every event is printed as RECEIVER_JSON_EVENTS declares it, which the README documents.
  const print = <K extends keyof typeof RECEIVER_JSON_EVENTS>(event: K, fields: ReceiverJsonEvent<K>) =>
    printJson(io.stdout, event, fields);
  // One line per file: these may wait for the end of the turn, written with the others.
  const printPerFile = <K extends keyof typeof RECEIVER_JSON_EVENTS>(event: K, fields: ReceiverJsonEvent<K>) =>
    printJsonBatched(io.stdout, event, fields);
  let total = 0;
  let shownAt = 0;
  receiver.on('code-needed', (e) => print('code-needed', e));
  receiver.on('secured', (e) => print('secured', e));
  receiver.on('remembered', (e) => print('remembered', e));
  receiver.on('connected', (e) => print('connected', e));
  receiver.on('offer', ({ offer, sender, folders }) =>
    print('offer', {
      folders,
      sender,
      files: offer.fileCount,
      bytes: offer.totalBytes,
      items: offer.items.map(({ name, kind, fileCount, bytes }) => ({ name, kind, files: fileCount, bytes })),
      entries: offer.entries.map(({ path, kind, size }) => (kind === 'dir' ? { path, kind } : { path, kind, size })),
      hidden: hiddenTopLevel(offer),
    }),
  );
  receiver.on('report', (report) => print('report', reportFields(report)));
  receiver.on('resume-found', (e) => print('resume-found', e));
  receiver.on('start', ({ outDir, files, bytes, resumedBytes, presentFiles }) =>
    print('start', { out: outDir, files, bytes, resumedBytes, presentFiles }),
  );
  receiver.on('progress', ({ bytes }) => {
    total += bytes;
    const now = performance.now();
    if (now - shownAt < PROGRESS_EVERY_MS.json) return;
    shownAt = now;
    print('progress', { bytes: total });
  });
  receiver.on('file-saved', (e) => printPerFile('file-saved', e));
  receiver.on('file-failed', (e) => print('file-failed', e));
  receiver.on('file-present', ({ path, offered, size, sha256 }) =>
    printPerFile('file-present', { path, offered, size, sha256 }),
  );
  receiver.on('file-restarted', (e) => print('file-restarted', e));
  receiver.on('connection-lost', (e) => print('connection-lost', e));
  receiver.on('reconnecting', (e) => print('reconnecting', e));
  receiver.on('resumed', (e) => print('resumed', e));
  receiver.on('partial-kept', (e) => print('partial-kept', e));
  return (result, cancelled) => {
    const bytes = result.saved.reduce((sum, file) => sum + file.size, 0);
    print('done', {
      out: result.outDir ?? null,
      declined: result.declined,
      cancelled,
      files: result.saved.length,
      present: result.present.length,
      failed: result.failed.length,
      bytes,
      saved: [...result.saved],
      failures: [...result.failed],
    });
  };
}

/** `3 files partly received (2.10 GiB of 4.00 GiB)`. */
export function partlyReceived(files: number, heldBytes: number, totalBytes: number): string {
  return `${plural(files, 'file')} partly received (${formatBytes(heldBytes)} of ${formatBytes(totalBytes)})`;
}

/** What a stopped transfer left, and the two ways on: run again to resume, or --clean. */
export function keptLines(dir: string, files: number): string {
  const folder = shellWord(path.dirname(dir));
  const [what, them] = files === 1 ? ['1 file partly received is', 'it'] : [`${files} files partly received are`, 'them'];
  return `${what} kept in ${esc(dir)}: run the same command again to resume, or ferry-receive --clean ${folder} to remove ${them}.`;
}

/** A local path as one shell word: quoted when it holds anything a shell would split or expand. */
function shellWord(text: string): string {
  const shown = esc(text);
  return /^[\w@%+=:,./~-]+$/.test(shown) ? shown : `"${shown.replace(/(["\\$`])/g, '\\$1')}"`;
}
