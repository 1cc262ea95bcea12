import os from 'node:os';
import readline from 'node:readline';
import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import { type ChatWindowRun, createFail, createLogger, defaultFolderIn, EXIT, expandHome, type Io, openChatWindow, printHelpOrVersion, plural, runChat, StatusLine, usageHint } from '@ferry/cli';
import { BrowseError, type Browser, createBrowser } from '@ferry/discovery';
import { folderProblem } from '@ferry/engine';
import {
  AddressSchema,
  AuthError,
  ErrorCode,
  escapeForDisplay,
  FerryError,
  normalizeCode,
  type ReceiverConfig,
  TIMEOUTS,
  UnsafeOfferError,
} from '@ferry/protocol';
import {
  ConfigFileError,
  configDir,
  loadOrCreateIdentity,
  localUserName,
  runPeersCommand,
  TrustStore,
} from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { parseReceiverArgs, USAGE } from './args.ts';
import { createJoiner } from './chat.ts';
import { runCleanCommand } from './clean.ts';
import { createDecide, type DecideState } from './decide.ts';
import {
  ambiguousNameError,
  findSenders,
  NOTHING_FOUND,
  NOTHING_FOUND_HINT,
  NothingFoundError,
  TYPE_AN_ADDRESS,
  pickSender,
  senderLabel,
  senderLines,
  speaksOurVersion,
} from './find.ts';
import { AdvisedUsageError, ConnectError, DestinationError, NotFerryError, ResumeStoppedError, UsageError } from './errors.ts';
import { createReceiver, type ReceiverSecurity } from './receiver.ts';
import { createTerminalPrompter, type Prompter } from './ui/prompts.ts';
import { targetOf } from './window/controller.ts';
import { runReceiveWindow } from './window/run.ts';
import { renderReceiver } from './ui/render.ts';

export { EXIT };

/** The receiver's streams: the shared ones plus the terminal input that prompts read. */
export interface ReceiverIo extends Io {
  readonly stdin: Readable & { readonly isTTY?: boolean };
}

/** Options for tests: an injected logger and prompter, a fixed home and default folder. */
export interface MainOptions {
  readonly logger?: Logger;
  readonly prompter?: Prompter;
  /** The user's home folder; `os.homedir()` by default. */
  readonly home?: string;
  /** The folder used when none is named; `Downloads` in the home folder by default. */
  readonly defaultFolder?: string;
  readonly version?: string;
  /** Looks for senders on the network (mDNS by default; tests give a fake network's). */
  readonly browser?: Browser;
}

/** Runs `ferry-receive` with `argv`; returns the exit code. */
export async function main(argv: readonly string[], io: ReceiverIo, signal: AbortSignal, options: MainOptions = {}): Promise<number> {
  let json = argv.includes('--json');
  const fail = createFail('ferry-receive', io, () => json);
  // Ctrl-C or Esc at the code prompt is an interruption, not a missing code.
  let codeCancelled = false;
  // What an interruption leaves behind, to confirm it to the user.
  const kept: Kept = { outDir: undefined, files: 0, partial: false };
  const state: DecideState = { cancelled: false, refusal: undefined };
  // A conversation in the window (--chat --ui), closed however main ends.
  let chatWindow: ChatWindowRun | undefined;
  try {
    const command = parseReceiverArgs(argv);
    if (command.kind === 'help' || command.kind === 'version') {
      return printHelpOrVersion(command.kind, 'ferry-receive', USAGE, options.version ?? '0.1.0', io.stdout);
    }
    const dir = configDir(io.env);
    if (command.kind === 'peers' || command.kind === 'forget') return await runPeersCommand(command, dir, io.stdout, json, 'sender');
    if (command.kind === 'clean') return await runCleanCommand(expandHome(command.folder, options.home ?? os.homedir()), io, command.json);
    if (command.kind === 'list') {
      json = command.json;
      const logger = options.logger ?? createLogger('ferry-receive', command.logLevel, io);
      const browser = options.browser ?? createBrowser(logger.child({ component: 'browser' }));
      const trust = await TrustStore.open(dir, 'sender').catch(() => undefined);
      const found = await findSenders({ browser, chat: command.chat, io, json, trust, signal });
      if (signal.aborted) return fail(EXIT.interrupted, ErrorCode.CANCELLED, 'interrupted while looking for senders');
      if (found.length === 0) throw new NothingFoundError();
      if (!json) {
        const out = StatusLine.for(io.stdout);
        out.print('Senders on this network:');
        for (const line of senderLines(found, out.width)) out.print(line);
      }
      return EXIT.ok;
    }
    const { config, ui } = command;
    json = config.json;
    const interactive = Boolean(io.stdin.isTTY) && !json && !config.codeStdin && !ui.ui;
    // In a conversation offers wait for /accept (or a JSON command); in the window, the window
    // asks: nothing needs a terminal.
    if (!config.yes && !interactive && !config.chat && !ui.ui) {
      throw new UsageError(
        json
          ? '--json never prompts: pass --yes to take everything (and --out DIR to choose the folder)'
          : 'stdin is not a terminal, so ferry-receive cannot ask which items to take: pass --yes to take everything (and --out DIR to choose the folder)',
      );
    }
    const logger = options.logger ?? createLogger('ferry-receive', config.logLevel, io);
    const home = options.home ?? os.homedir();
    const defaultFolder = options.defaultFolder ?? defaultFolderIn(home);
    // Questions go to the terminal: with stdout redirected to a file they are drawn on stderr.
    const promptOutput = io.stdout.isTTY || !io.stderr.isTTY ? io.stdout : io.stderr;
    const prompter = options.prompter ?? createTerminalPrompter(io.stdin, promptOutput as unknown as Writable);
    // A folder named on the command line is checked before anything else happens (U3).
    if ((!interactive || config.chat) && config.out !== undefined) await checkNamedFolder(expandHome(config.out, home));
    // A prompt cancelled (Ctrl-C or Esc) is an interruption; choosing no items is a decline.
    const decide = createDecide({ yes: config.yes, out: config.out, interactive, home, defaultFolder, prompter }, state);
    const askCode = async (prompts?: AbortSignal) => {
      const code = await prompter.askCode(prompts);
      codeCancelled = code === null;
      return code;
    };
    // In a conversation stdin goes on after the code: its lines are commands, read by the chat.
    const lines = config.chat && config.codeStdin ? readLines(io.stdin) : undefined;
    const trust = config.encryption ? await TrustStore.open(dir, 'sender') : undefined;
    // The chat window opens first: it shows the connection and asks for the pairing code.
    if (ui.ui && config.chat) {
      const app = { name: config.name ?? localUserName(io.env), version: options.version ?? '0.1.0', encryption: config.encryption };
      chatWindow = await openChatWindow({ role: 'joiner', logger, configDir: dir, home, port: ui.port, open: ui.open, app, io, json });
    }
    if (ui.ui && !config.chat) {
      // The window connects at once to a sender given on the command line; without one it shows
      // those found on the network.
      const where =
        config.address === undefined
          ? undefined
          : await whereIsTheSender(config, {
              io,
              json,
              interactive: false,
              trust,
              signal,
              browser: () => options.browser ?? createBrowser(logger.child({ component: 'browser' })),
              ask: undefined,
            });
      const security: ReceiverSecurity = config.encryption
        ? {
            encryption: true,
            identity: await loadOrCreateIdentity(dir),
            trust,
            code: await codeGivenUpFront(config.codeStdin, io, signal),
            remember: config.remember,
          }
        : { encryption: false };
      const waitMs = config.timeout === undefined ? undefined : Math.round(config.timeout * 1000);
      return await runReceiveWindow({
        ui,
        io,
        json,
        verbose: config.verbose,
        logger,
        configDir: dir,
        home,
        defaultFolder: config.out === undefined ? defaultFolder : expandHome(config.out, home),
        security,
        trust,
        link: {
          name: config.name,
          connectTimeoutMs: Math.min(config.connectTimeoutMs, waitMs ?? Number.POSITIVE_INFINITY),
          handshakeMs: Math.min(TIMEOUTS.handshakeMs, waitMs ?? Number.POSITIVE_INFINITY),
          idleMs: waitMs,
          frameMs: waitMs,
          fsync: config.fsync,
          retryMs: Math.round(config.retry * 1000),
        },
        browser: options.browser ?? createBrowser(logger.child({ component: 'browser' })),
        target: where && { ...where, label: targetOf(where.host, where.port).label },
        signal,
      });
    }
    const where = await whereIsTheSender(config, {
      io,
      json,
      interactive,
      trust,
      signal,
      browser: () => options.browser ?? createBrowser(logger.child({ component: 'browser' })),
      ask: prompter.pickSender ? (count) => prompter.pickSender!(count, signal) : undefined,
    });
    const security: ReceiverSecurity = config.encryption
      ? {
          encryption: true,
          identity: await loadOrCreateIdentity(dir),
          trust: trust,
          announcedKey: where.announcedKey,
          code: await codeGivenUpFront(config.codeStdin, io, signal, lines),
          askCode: chatWindow ? windowCode(chatWindow, (cancelled) => (codeCancelled = cancelled)) : interactive ? askCode : undefined,
          remember: config.remember,
        }
      : { encryption: false };
    // --timeout bounds every wait on the sender; connecting and the greeting keep their shorter
    // deadline, since no person is waited for there and a LAN answers in milliseconds.
    const waitMs = config.timeout === undefined ? undefined : Math.round(config.timeout * 1000);
    // The same connection, pairing and waits for a conversation as for a transfer.
    const link = {
      security,
      host: where.host,
      port: where.port,
      name: config.name,
      logger,
      connectTimeoutMs: Math.min(config.connectTimeoutMs, waitMs ?? Number.POSITIVE_INFINITY),
      handshakeMs: Math.min(TIMEOUTS.handshakeMs, waitMs ?? Number.POSITIVE_INFINITY),
      idleMs: waitMs,
      frameMs: waitMs,
      fsync: config.fsync,
      signal,
    };
    // --retry: how long a transfer or a conversation whose connection broke keeps reconnecting.
    const retryMs = Math.round(config.retry * 1000);
    if (config.chat) {
      const joiner = createJoiner({ ...link, retryMs });
      renderReceiver(joiner, io, json, config.verbose);
      const conversation = await joiner.join();
      const { yes, out, verbose } = config;
      const window = chatWindow?.controller;
      return await runChat(conversation, { io, role: 'joiner', json, yes, out, home, defaultFolder, verbose, signal, lines, window });
    }
    const receiver = createReceiver({ ...link, decide, retryMs });
    const summarise = renderReceiver(receiver, io, json, config.verbose);
    receiver.on('start', ({ outDir }) => {
      kept.outDir = outDir;
    });
    receiver.on('file-saved', () => {
      kept.files++;
    });
    receiver.on('partial-kept', () => {
      kept.partial = true;
    });
    const result = await receiver.run();
    if (state.refusal) throw state.refusal;
    summarise(result, state.cancelled);
    // Choosing nothing is an answer: nothing to do, so nothing failed.
    if (result.declined) return state.cancelled || signal.aborted ? EXIT.interrupted : EXIT.ok;
    return result.failed.length === 0 ? EXIT.ok : EXIT.failure;
  } catch (thrown) {
    if (thrown instanceof NothingFoundError)
      return fail(EXIT.failure, 'ERR_NOT_FOUND', NOTHING_FOUND, NOTHING_FOUND_HINT);
    if (thrown instanceof BrowseError) {
      return fail(
        EXIT.failure,
        'ERR_FAILED',
        `cannot look for senders on this network (${escapeForDisplay(thrown.message)})`,
        `Type an address ferry-send shows instead,\n${TYPE_AN_ADDRESS}`,
      );
    }
    // A folder found unusable without a terminal is a usage problem: exit 2, with its hint (U3).
    const error = thrown instanceof DestinationError && state.refusal ? state.refusal : thrown;
    if (error instanceof UsageError) {
      return fail(EXIT.usage, 'ERR_USAGE', error.message, error instanceof AdvisedUsageError ? error.hint : usageHint(USAGE, 'ferry-receive'));
    }
    if (signal.aborted || (error instanceof FerryError && error.code === ErrorCode.CANCELLED)) {
      return fail(EXIT.interrupted, ErrorCode.CANCELLED, interruptedMessage(kept));
    }
    if (error instanceof AuthError && error.code === ErrorCode.CODE_REQUIRED) {
      if (codeCancelled) return fail(EXIT.interrupted, ErrorCode.CANCELLED, 'cancelled at the pairing code prompt; nothing was received');
      // Without a terminal the code can only come from a flag or the environment: a usage error.
      return fail(EXIT.usage, error.code, escapeForDisplay(error.message), usageHint(USAGE, 'ferry-receive'));
    }
    if (error instanceof ConfigFileError) return fail(EXIT.failure, 'ERR_CONFIG', escapeForDisplay(error.message));
    if (error instanceof AuthError) return fail(EXIT.failure, error.code, escapeForDisplay(error.message), authHint(error));
    if (error instanceof ConnectError || error instanceof NotFerryError || error instanceof DestinationError) {
      return fail(EXIT.failure, error.code, escapeForDisplay(error.message), hintFor(error));
    }
    if (error instanceof UnsafeOfferError) {
      const name = escapeForDisplay(error.path);
      return fail(EXIT.failure, error.code, `refused the whole offer, nothing was written: ${escapeForDisplay(error.message)}${name ? `: "${name}"` : ''}`);
    }
    if (error instanceof ResumeStoppedError) {
      // The connection broke and the transfer could not be resumed: the message says what to do.
      return fail(EXIT.failure, error.code, escapeForDisplay(error.message));
    }
    if (error instanceof FerryError && (error.code === ErrorCode.TRUNCATED || error.code === ErrorCode.CONNECTION_CLOSED)) {
      // The sender stopped (Ctrl-C) or the network dropped: say so, and what is left (U5).
      const what =
        kept.outDir === undefined
          ? 'the sender went away before you chose; nothing was saved'
          : `the sender stopped or the connection was cut: ${interruptedMessage(kept).replace(/^interrupted: /, '')}`;
      return fail(EXIT.failure, error.code, `${what} (${error.code})`, 'Run ferry-receive again (with a new code if ferry-send was restarted) to get the rest.');
    }
    if (error instanceof FerryError && error.code === ErrorCode.MODE_MISMATCH) {
      // One side holds a conversation and the other does not: the message says which to run.
      return fail(EXIT.failure, error.code, escapeForDisplay(error.message));
    }
    if (error instanceof FerryError) return fail(EXIT.failure, error.code, `transfer failed: ${escapeForDisplay(error.message)} (${error.code})`);
    return fail(EXIT.failure, 'ERR_INTERNAL', `unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    await chatWindow?.close();
  }
}

/** Asks the chat window for the pairing code; `cancelled` learns whether it was given up. */
function windowCode(run: ChatWindowRun, cancelled: (value: boolean) => void) {
  return async (signal?: AbortSignal) => {
    const code = await run.controller.askCode(signal);
    cancelled(code === null);
    return code;
  };
}

/** Where to connect: the address given, or a sender found on the network (with the key it announced). */
interface Where {
  readonly host: string;
  readonly port: number;
  readonly announcedKey?: { readonly hint: string; readonly sender: string } | undefined;
}

/**
 * The sender to connect to (PROTOCOL.md §14): the address given; or, for a name, the sender
 * announced under it (a host of that name if none is); or, with neither, the one picked from
 * those found. A sender found brings the key it announced, checked before any AUTH.
 */
async function whereIsTheSender(
  config: ReceiverConfig,
  context: {
    io: ReceiverIo;
    json: boolean;
    interactive: boolean;
    trust: TrustStore | undefined;
    signal: AbortSignal;
    browser: () => Browser;
    ask: ((count: number) => Promise<string | null>) | undefined;
  },
): Promise<Where> {
  if (config.address !== undefined && config.find === undefined) return config.address;
  const { io, json, trust, signal } = context;
  const found = await findSenders({
    browser: context.browser(),
    chat: config.chat ?? false,
    io,
    json,
    trust,
    signal,
  });
  if (signal.aborted) throw new FerryError(ErrorCode.CANCELLED, 'interrupted');
  let chosen: (typeof found)[number];
  if (config.find !== undefined && config.address !== undefined) {
    const named = found.filter((sender) => sender.name === config.find);
    if (named.length > 1) throw ambiguousNameError(config.find, named);
    if (named.length === 0) {
      if (!json)
        StatusLine.for(io.stdout).print(
          `No sender named "${escapeForDisplay(config.find)}" found on this network; connecting to ${escapeForDisplay(config.find)} as a host name.`,
        );
      return config.address;
    }
    chosen = named[0]!;
  } else {
    const picked = await pickSender(found, {
      yes: config.yes,
      interactive: context.interactive,
      io,
      ask: context.ask,
    });
    if (picked === null) throw new FerryError(ErrorCode.CANCELLED, 'cancelled');
    if (picked.kind === 'address') {
      const address = AddressSchema.safeParse(picked.text);
      if (!address.success)
        throw new UsageError(
          `not a number from the list or an address: ${JSON.stringify(escapeForDisplay(picked.text))}`,
        );
      return address.data;
    }
    chosen = picked.sender;
  }
  if (!speaksOurVersion(chosen)) {
    throw new AdvisedUsageError(
      `${senderLabel(chosen)} speaks another version of Ferry (${escapeForDisplay(chosen.version)})`,
      'Use the same version of Ferry on both machines.',
    );
  }
  return {
    host: chosen.addresses[0] ?? chosen.source,
    port: chosen.port,
    announcedKey:
      chosen.keyHint === '' ? undefined : { hint: chosen.keyHint, sender: senderLabel(chosen, true) },
  };
}

/**
 * The code from FERRY_CODE or, with --code-stdin, the first line of stdin; undefined if
 * neither. A malformed code is a usage error that never repeats what was given.
 */
async function codeGivenUpFront(
  fromStdin: boolean,
  io: ReceiverIo,
  signal: AbortSignal,
  lines?: AsyncIterator<string>,
): Promise<string | undefined> {
  const first = lines ? await lines.next() : undefined;
  const given = first ? (first.done ? '' : first.value.slice(0, 256)) : fromStdin ? await readFirstLine(io.stdin, signal) : io.env.FERRY_CODE;
  if (given === undefined || (!fromStdin && given === '')) return undefined;
  const code = normalizeCode(given);
  if (code === undefined) {
    throw new UsageError(
      `${fromStdin ? 'the first line of stdin' : 'FERRY_CODE'} is not a pairing code (8 digits, like 1234-5678)`,
    );
  }
  return code;
}

/**
 * The first line of a stream (at most 256 bytes are looked at), without its line ending. A
 * person may be typing it, so there is no deadline, but Ctrl-C ends the wait.
 */
async function readFirstLine(stream: Readable, signal: AbortSignal): Promise<string> {
  let text = '';
  for await (const chunk of addAbortSignal(signal, stream)) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (/[\r\n]/.test(text) || text.length >= 256) break;
  }
  return text.split(/\r?\n/)[0]!.slice(0, 256);
}

/** The lines of a stream, read once: the first can be a pairing code, the rest chat commands. */
function readLines(stream: Readable): AsyncIterator<string> {
  return readline.createInterface({ input: stream, terminal: false, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
}

/** Where the transfer was saving, and how many files it had saved and verified. */
interface Kept {
  outDir: string | undefined;
  files: number;
  /** Partial data was kept to resume from (its own line said where). */
  partial: boolean;
}

/** The confirmation after Ctrl-C: what is kept, and that the partial file is gone. */
function interruptedMessage(kept: Kept): string {
  if (kept.outDir === undefined) return 'interrupted; nothing was saved';
  const where = escapeForDisplay(kept.outDir);
  const files = kept.files === 0 ? 'nothing was saved' : `kept the ${plural(kept.files, 'file')} already saved and verified`;
  const partial = kept.partial
    ? 'the files partly received are kept: run the same command again to resume'
    : 'any partly received file was removed';
  return `interrupted: ${files} in ${where}; ${partial}`;
}

function authHint(error: AuthError): string | undefined {
  switch (error.code) {
    case ErrorCode.PAIRING_FAILED:
      return 'Run ferry-receive again and type the code ferry-send shows now (after 3 wrong attempts it shows a new one).';
    case ErrorCode.ENCRYPTION_MISMATCH:
      return 'Both sides must agree: either both use --no-encryption, or neither does.';
    case ErrorCode.KEY_CHANGED:
      return 'Nothing was sent to that sender. See ferry-receive --peers.';
    default:
      return undefined;
  }
}

function hintFor(error: FerryError): string | undefined {
  if (error instanceof DestinationError) return 'Choose another folder with --out DIR.';
  if (error instanceof ConnectError && (error.reason === 'refused' || error.reason === 'timeout')) {
    return 'Check the address and port that ferry-send printed, and that a firewall lets that port in.';
  }
  if (error instanceof ConnectError && error.reason === 'unreachable') {
    return 'Both machines must be on the same network; try another of the addresses ferry-send printed.';
  }
  return undefined;
}

/** Refuses, with exit 2 and what to do, a folder given with --out that cannot be saved into. */
async function checkNamedFolder(dir: string): Promise<void> {
  const problem = await folderProblem(dir);
  if (problem === 'missing') throw new AdvisedUsageError(`--out: the folder ${dir} does not exist`, 'Create it first, or name another folder.');
  if (problem === 'not-a-folder') throw new AdvisedUsageError(`--out: ${dir} is not a folder`, 'Name a folder.');
  if (problem === 'not-writable') throw new AdvisedUsageError(`--out: the folder ${dir} is not writable`, 'Name a folder you can write to.');
}
