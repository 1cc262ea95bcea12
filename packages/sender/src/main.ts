import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Readable } from 'node:stream';
import {
  announceWindow,
  ChatOutput,
  type ChatWindowController,
  createFail,
  createLogger,
  EXIT,
  expandHome,
  formatBytes,
  type Io,
  openChatWindow,
  plural,
  printHelpOrVersion,
  printJson,
  runChat,
  StatusLine,
  usageHint,
} from '@ferry/cli';
import { type Announcer, createAnnouncer } from '@ferry/discovery';
import { ChatRoom, folderProblem, type OfferSource, scanOffer } from '@ferry/engine';
import { escapeForDisplay, FerryError, PairingCodes, TIMEOUTS } from '@ferry/protocol';
import {
  ConfigFileError,
  configDir,
  derivePasswordScalar,
  fingerprintHex,
  loadOrCreateIdentity,
  localUserName,
  runPeersCommand,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { announceSender, reachableFromNetwork } from './announce.ts';
import { parseSenderArgs, USAGE } from './args.ts';
import { ListenError, UsageError } from './errors.ts';
import { hashOffer } from './link/digests.ts';
import { qrSvg } from './link/qr.ts';
import { receiverProgram } from './link/receiver-program.ts';
import { createLink, type Link } from './link/server.ts';
import { folderZip } from './link/zip.ts';
import { createSender, type Sender, type SenderSecurity } from './sender.ts';
import { renderLink } from './ui/link.ts';
import { renderOfferChange, renderSender } from './ui/render.ts';
import { openSendWindow, type SendWindowRun } from './window/start.ts';

export { EXIT };

/** Options for tests: an injected logger, a fixed home and default folder. */
export interface MainOptions {
  readonly logger?: Logger;
  readonly version?: string;
  /** The user's home folder; `os.homedir()` by default. */
  readonly home?: string;
  /** The folder a conversation saves into when none is named; `Downloads` in the home folder by default. */
  readonly defaultFolder?: string;
  /** Announces the sender on the network (mDNS by default; tests give a fake network's). */
  readonly announcer?: Announcer;
}

/** The sender's streams; a conversation (--chat) also reads its commands from stdin. */
export interface SenderIo extends Io {
  readonly stdin?: Readable & { readonly isTTY?: boolean };
}

/** Runs `ferry-send` with `argv` until it stops or `signal` aborts; returns the exit code. */
export async function main(argv: readonly string[], io: SenderIo, signal: AbortSignal, options: MainOptions = {}): Promise<number> {
  let json = argv.includes('--json');
  const fail = createFail('ferry-send', io, () => json);
  try {
    const command = parseSenderArgs(argv);
    if (command.kind === 'help' || command.kind === 'version') {
      return printHelpOrVersion(command.kind, 'ferry-send', USAGE, options.version ?? '0.1.0', io.stdout);
    }
    const dir = configDir(io.env);
    if (command.kind === 'peers' || command.kind === 'forget') return await runPeersCommand(command, dir, io.stdout, json, 'receiver');
    const { config } = command;
    json = config.json;
    const logger = options.logger ?? createLogger('ferry-send', config.logLevel, io);
    const offer = await scanOffer(config.paths);
    const security: SenderSecurity = config.encryption
      ? {
          encryption: true,
          identity: await loadOrCreateIdentity(dir),
          trust: await TrustStore.open(dir, 'receiver'),
          pairing: new PairingCodes(derivePasswordScalar),
          remember: config.remember,
        }
      : { encryption: false };
    // --timeout bounds every wait on a receiver, but never stretches the pre-auth deadline:
    // a stranger must not hold one of the few unauthenticated slots longer (E1, A12).
    const waitMs = config.timeout === undefined ? undefined : Math.round(config.timeout * 1000);
    if (config.chat) {
      const stdin = io.stdin;
      if (!stdin) throw new UsageError('--chat reads what you type from stdin, and there is none');
      const home = options.home ?? os.homedir();
      if (config.out !== undefined) await checkNamedFolder(expandHome(config.out, home));
      const name = config.name ?? localUserName(io.env);
      // With --ui the conversation shows in the window too, and offers are answered there.
      const chatWindow = config.ui
        ? await openChatWindow({
            role: 'listener',
            logger,
            configDir: dir,
            home,
            port: config.uiPort,
            open: config.open,
            app: { name, version: options.version ?? '0.1.0', encryption: config.encryption },
            io,
            json,
          })
        : undefined;
      try {
        const room = new ChatRoom({
          name,
          host: os.hostname(),
          session: randomBytes(16).toString('hex'),
          key: security.encryption ? shortFingerprint(security.identity.fingerprint) : '',
          logger,
          offer,
          stallMs: waitMs,
        });
        // The addresses, codes and refusals keep coming while people talk: above the prompt.
        const output = new ChatOutput(io.stdout);
        const sender = createSender({
          security,
          offer,
          host: config.host,
          port: config.port,
          name,
          logger,
          idleMs: waitMs,
          frameMs: waitMs,
          handshakeMs: waitMs === undefined ? undefined : Math.min(TIMEOUTS.handshakeMs, waitMs),
          chat: room,
        });
        if (chatWindow) {
          sender.on('listening', (info) => chatWindow.controller.listening(info));
          sender.on('code', ({ code }) => chatWindow.controller.code(code));
        }
        renderSender(sender, offer, { ...io, stdout: output }, json, false, true, config.qr);
        if (signal.aborted) return EXIT.interrupted;
        const port = listeningPort(sender);
        await sender.listen();
        const announcer = startAnnouncing(config, options, logger, security, name, await port, true, output);
        try {
          return await holdConversation(room, sender, { ...io, stdin }, output, config, home, options, signal, chatWindow?.controller);
        } finally {
          await announcer?.stop();
        }
      } finally {
        await chatWindow?.close();
      }
    }
    const name = config.name ?? localUserName(io.env);
    const ui = config.ui
      ? await openSendWindow({
          logger,
          configDir: dir,
          home: options.home ?? os.homedir(),
          port: config.uiPort,
          open: config.open,
          paths: config.paths,
          offer,
          app: { name, version: options.version ?? '0.1.0', encryption: config.encryption },
          trust: security.encryption ? security.trust : undefined,
        })
      : undefined;
    try {
      if (ui) {
        announceWindow(io, json, ui.window.url);
        // Started with nothing to offer: listening waits until the window adds something.
        if (!(await ui.offered(signal))) return await stopWindow(ui, io, json, signal);
      }
      return await sendOffer(ui ? ui.editor.offer : offer);
    } finally {
      await ui?.close(signal.aborted ? 'interrupted' : ui.stop.aborted ? 'stopped' : 'once');
    }

    async function sendOffer(offer: OfferSource): Promise<number> {
      const link = config.link ? await openLink(offer, io, json, logger, name, config.linkDownloads) : undefined;
      const sender = createSender({
        security,
        offer,
        host: config.host,
        port: config.port,
        once: config.once,
        name,
        logger,
        idleMs: waitMs,
        frameMs: waitMs,
        handshakeMs: waitMs === undefined ? undefined : Math.min(TIMEOUTS.handshakeMs, waitMs),
        http: link,
      });
      // With a link, the QR code holds the link's first URL instead of the command.
      const view = renderSender(sender, offer, io, json, config.once, false, config.qr && !link);
      if (link) renderLink(link, io, json);
      if (ui) {
        ui.controller.follow(sender);
        if (link) ui.controller.followLink(link, qrSvg);
        // A change in the window applies to the receivers (and link downloads) that come after it.
        ui.editor.onChange(async (changed) => {
          if (link) link.setOffer(changed, await hashOffer(changed));
          sender.setOffer(changed);
          renderOfferChange(changed, io, json);
        });
      }
      if (signal.aborted) return EXIT.interrupted;
      const port = listeningPort(sender);
      const hosts = linkHosts(sender, config.host);
      await sender.listen();
      link?.announce(await hosts, await port);
      const announcer = startAnnouncing(
        config,
        options,
        logger,
        security,
        name,
        await port,
        false,
        io.stdout,
      );
      const onAbort = () => {
        view.interrupt();
        ui?.controller.interrupt();
        void sender.close(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ui?.stop.addEventListener('abort', onAbort, { once: true });
      // A Ctrl-C (or the window's Stop) that came while listening started fires no event any more.
      if (signal.aborted || ui?.stop.aborted) onAbort();
      try {
        await sender.stopped;
      } finally {
        link?.end('stopped');
        signal.removeEventListener('abort', onAbort);
        ui?.stop.removeEventListener('abort', onAbort);
        // The goodbye goes out before exit, bounded in time (PROTOCOL.md §14).
        await announcer?.stop();
      }
      if (signal.aborted || ui?.stop.aborted) return ui ? stopWindow(ui, io, json, signal) : stopped(io, json);
      if (json) printJson(io.stdout, 'stopped', { reason: 'once' });
      else io.stdout.write('Stopped after one complete transfer (--once).\n');
      return EXIT.ok;
    }
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.usage, 'ERR_USAGE', error.message, usageHint(USAGE, 'ferry-send'));
    if (error instanceof ListenError) return fail(EXIT.failure, 'ERR_FAILED', error.message, listenHint(error));
    if (error instanceof ConfigFileError) return fail(EXIT.failure, 'ERR_FAILED', escapeForDisplay(error.message));
    if (error instanceof FerryError) return fail(EXIT.failure, 'ERR_FAILED', escapeForDisplay(error.message));
    return fail(EXIT.failure, 'ERR_FAILED', `unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** Ctrl-C: says so, exit 130. */
function stopped(io: Io, json: boolean): number {
  if (json) printJson(io.stdout, 'stopped', { reason: 'interrupted' });
  else io.stdout.write('Stopped.\n');
  return EXIT.interrupted;
}

/** Stopped with the window open: by its Stop (exit 0, as asked for) or by Ctrl-C (exit 130). */
function stopWindow(ui: SendWindowRun, io: Io, json: boolean, signal: AbortSignal): number {
  if (signal.aborted || !ui.stop.aborted) return stopped(io, json);
  if (json) printJson(io.stdout, 'stopped', { reason: 'window' });
  else io.stdout.write('Stopped from the window.\n');
  return EXIT.ok;
}

/**
 * Hashes the offered files for the link's page and SHA256SUMS (with a progress line for a large
 * offer), then creates the link.
 */
async function openLink(
  offer: OfferSource,
  io: Io,
  json: boolean,
  logger: Logger,
  name: string,
  downloads: number | undefined,
): Promise<Link> {
  const status = StatusLine.for(io.stdout);
  const large = offer.totalBytes >= LARGE_OFFER_BYTES;
  if (large && !json) {
    status.print(`Computing SHA-256 digests of ${plural(offer.fileCount, 'file')} (${formatBytes(offer.totalBytes)}) for the link...`);
  }
  let shownAt = 0;
  const digests = await hashOffer(offer, ({ bytes, totalBytes }) => {
    const now = performance.now();
    if (!large || json || !status.width || now - shownAt < 200) return;
    shownAt = now;
    status.show(`  ${Math.floor((bytes / Math.max(1, totalBytes)) * 100)}% ${formatBytes(bytes)} of ${formatBytes(totalBytes)}`);
  });
  status.clear();
  return createLink({ offer, digests, logger, name, downloads, zipper: folderZip, program: () => receiverProgram(logger) });
}

/** Offers from this size on show progress while their digests are computed. */
const LARGE_OFFER_BYTES = 256 * 1024 * 1024;

/** The hosts the link is printed for: the LAN addresses, or the one listened on, or loopback. */
function linkHosts(sender: Sender, host: string | undefined): Promise<string[]> {
  return new Promise((resolve) => {
    const off = sender.on('listening', ({ addresses }) => {
      off();
      const hosts = addresses.map((a) => a.address);
      const only = host !== undefined && host !== '0.0.0.0' && host !== '::' ? host : '127.0.0.1';
      resolve(hosts.length > 0 ? hosts : [only]);
    });
  });
}

/** The port the sender listens on, once it does (the one asked for, or a free one for 0). */
function listeningPort(sender: Sender): Promise<number> {
  return new Promise((resolve) => {
    const off = sender.on('listening', ({ port }) => {
      off();
      resolve(port);
    });
  });
}

/**
 * Starts announcing the sender on the local network unless --no-announce, or unless it
 * listens on a loopback address that no other machine can reach; returns the announcer to
 * stop (with its goodbye) when the sender stops. The outcome is printed when it is known.
 */
function startAnnouncing(
  config: { announce: boolean; host?: string | undefined; json: boolean },
  options: MainOptions,
  logger: Logger,
  security: SenderSecurity,
  name: string,
  port: number,
  chat: boolean,
  out: Io['stdout'],
): Announcer | undefined {
  if (!config.announce || !reachableFromNetwork(config.host)) return undefined;
  const everywhere = config.host === undefined || config.host === '0.0.0.0' || config.host === '::';
  const announcer =
    options.announcer ??
    createAnnouncer(logger.child({ component: 'announcer' }), {
      address: everywhere ? undefined : config.host,
    });
  const fingerprint = security.encryption
    ? fingerprintHex(security.identity.fingerprint)
    : undefined;
  const quiet = new AbortController();
  void announceSender({
    announcer,
    name,
    port,
    chat,
    fingerprint,
    out,
    json: config.json,
    signal: quiet.signal,
  });
  return {
    start: (announcement) => announcer.start(announcement),
    async stop() {
      // An announcement still probing is cancelled; nothing about it is printed after this.
      quiet.abort();
      await announcer.stop();
    },
  };
}

/** Runs the conversation until it ends, then stops listening; returns the exit code. */
async function holdConversation(
  room: ChatRoom,
  sender: { close(abort?: boolean): Promise<void>; readonly stopped: Promise<void> },
  io: SenderIo & { readonly stdin: Readable & { readonly isTTY?: boolean } },
  output: ChatOutput,
  config: { json: boolean; yes?: boolean | undefined; out?: string | undefined },
  home: string,
  options: MainOptions,
  signal: AbortSignal,
  window?: ChatWindowController,
): Promise<number> {
  room.open();
  try {
    return await runChat(room, {
      io,
      role: 'listener',
      json: config.json,
      yes: config.yes ?? false,
      out: config.out,
      home,
      defaultFolder: options.defaultFolder,
      signal,
      output,
      window,
    });
  } finally {
    await sender.close(true);
    await sender.stopped;
  }
}

/** Refuses, with exit 2 and what to do, a folder given with --out that cannot be saved into. */
async function checkNamedFolder(dir: string): Promise<void> {
  const problem = await folderProblem(dir);
  if (problem === 'missing') throw new UsageError(`--out: the folder ${dir} does not exist; create it first, or name another folder`);
  if (problem === 'not-a-folder') throw new UsageError(`--out: ${dir} is not a folder`);
  if (problem === 'not-writable') throw new UsageError(`--out: the folder ${dir} is not writable`);
}

function listenHint(error: ListenError): string | undefined {
  if (error.reason === 'in-use') return 'Another program (or another ferry-send) has that port; try --port 0 for a free one.';
  if (error.reason === 'bad-address') return 'Leave out --host to listen on every interface.';
  return undefined;
}
