import {
  configUsageError,
  type InfoCommand,
  infoCommand,
  parseCommandLine,
  UI_FLAGS,
  UI_USAGE,
  type UiOptions,
  uiOptions,
} from '@ferry/cli';
import { ReceiverCleanSchema, type ReceiverConfig, ReceiverConfigSchema } from '@ferry/protocol';
import { UsageError } from './errors.ts';

/**
 * What the command line asks for: run, print help or the version, list or forget peers, or
 * remove the partial data left in a folder (`--clean`).
 */
export type Command =
  | { kind: 'run'; config: ReceiverConfig; ui: UiOptions }
  | { kind: 'list'; json: boolean; chat: boolean; logLevel: ReceiverConfig['logLevel'] }
  | { kind: 'clean'; folder: string; json: boolean }
  | InfoCommand;

/** Usage text; every flag is listed here and in the README. */
export const USAGE = `Usage: ferry-receive [options] [<host>[:port] | <name>]
       ferry-receive --chat [options] [<host>[:port] | <name>]
       ferry-receive --list [--chat] [--json]
       ferry-receive --ui [options] [<host>[:port] | <name>]

Connects to a ferry-send on another machine, shows what it offers, and saves
exact, verified copies. The port defaults to 7878; write IPv6 addresses as
[addr]:port.

With no address, looks for senders on the local network for 2 s, lists them
and asks which one (with --yes, takes the only one found). A name with no dot
and no port connects to the sender announced under that name (or, if none
is, to that host). The key a sender announces is checked when connecting.

Transfers are encrypted (TLS 1.3). The first time, you are asked for the
pairing code that ferry-send shows; it proves both sides are the machines you
think. The code is never taken from the command line (other users could see
it there): type it when asked, set FERRY_CODE, or pass --code-stdin and write
it to stdin.

With --chat, joins the conversation that ferry-send --chat holds: type
messages, send files with /send, answer offers with /accept or /decline
(/help lists the commands).
With --ui as well, the conversation is shown in the window too, and offers
and the pairing code are answered there.

With --ui, everything happens in Ferry's window in a browser on this
computer instead: the senders found, the pairing code, the items and the
folder, progress with pause and resume, and what was saved. It stays open
to receive again until you choose Quit or press Ctrl-C here.

Options:
${UI_USAGE}
      --chat            join a conversation (see above)
  -o, --out <dir>       save into this folder (otherwise you are asked; the
                        default is ~/Downloads, created if missing)
  -y, --yes             take everything on offer without asking
      --fsync           make each file durable on disk before it gets its
                        final name (slower; by default the operating system
                        writes it back)
      --name <name>     name shown to the sender (default: your user name)
      --code-stdin      read the pairing code from the first line of stdin
      --remember        remember this sender after pairing, so next time
                        needs no code (the sender must remember you too:
                        ferry-send --remember)
      --retry <s>       when the connection breaks mid-transfer or in a
                        conversation, keep reconnecting for this many
                        seconds and continue where it stopped (default 60,
                        from 0 to 3600; 0 turns it off)
      --list            list the senders on the local network and exit
      --clean <dir>     remove the partly received files that interrupted
                        transfers left in <dir>, and exit
      --peers           list the remembered senders and exit
      --forget <peer>   forget a remembered sender (name or key) and exit
      --no-encryption   receive in clear, to measure raw speed; only works
                        with a ferry-send that also says --no-encryption
      --timeout <s>     give up when the sender makes no progress for this
                        many seconds (default 60, from 1 to 3600); connecting
                        and the sender's greeting wait at most 10 s, or
                        --timeout if less
      --verbose         list every offered and saved file, with its SHA-256
      --json            print one JSON event per line instead of text
      --log-level <l>   silent, fatal, error, warn, info, debug or trace
                        (default silent); logs go to stderr
  -h, --help            show this help
  -v, --version         show the version
`;

const RETRY_RULE =
  '--retry must be a number of seconds from 0 to 3600, like 60 or 2.5 (0 turns reconnecting off)';

const CLEAN_RULE = '--clean must name a folder';

const ADDRESS_RULE =
  'the sender address must be host or host:port, as ferry-send prints it (like 192.168.1.20:7878, or [fe80::1]:7878 for IPv6)';

/** Parses argv (without node and script) into a validated command; throws UsageError. */
/** ferry-send's flags that ferry-receive takes in its address instead. */
const ADDRESS_FLAGS = {
  port: 'put the port in the address: host:port (for example 192.168.1.20:7878)',
  host: 'put the host in the address: host:port (for example 192.168.1.20:7878)',
};

export function parseReceiverArgs(argv: readonly string[]): Command {
  // Refused by name, and never echoed: the value may be the code itself (G9).
  if (argv.some((arg) => /^--?(pairing-)?code(=|$)/.test(arg))) {
    throw new UsageError(
      'the pairing code is never taken from the command line, where other users can see it: type it when asked, set FERRY_CODE, or use --code-stdin',
    );
  }
  const { values, positionals } = parseCommandLine(argv, FLAGS, ADDRESS_FLAGS);
  const info = infoCommand(values);
  if (info) return info;
  if (values.clean !== undefined) {
    if (positionals.length > 0) {
      throw new UsageError(
        '--clean takes only the folder to clean: give no sender address with it',
      );
    }
    const clean = ReceiverCleanSchema.safeParse({ clean: values.clean, json: values.json });
    if (!clean.success)
      throw configUsageError(clean.error, { clean: values.clean }, { clean: CLEAN_RULE });
    return { kind: 'clean', folder: clean.data.clean, json: clean.data.json };
  }
  if (values.list) {
    if (positionals.length > 0)
      throw new UsageError(
        '--list lists every sender on the network: give no address or name with it',
      );
    const input = { json: values.json, chat: values.chat, logLevel: values['log-level'] };
    const result = ListSchema.safeParse(input);
    if (!result.success) throw configUsageError(result.error, input);
    return { kind: 'list', ...result.data };
  }
  if (positionals.length > 1)
    throw new UsageError(`give one sender address or name, not ${positionals.length}`);
  const target = positionals[0];
  const ui = uiOptions(values);
  const input = {
    address: target,
    find: target !== undefined && isSenderName(target) ? target : undefined,
    out: values.out,
    yes: values.yes,
    fsync: values.fsync,
    json: values.json,
    logLevel: values['log-level'],
    name: values.name,
    timeout: values.timeout,
    encryption: !values['no-encryption'],
    remember: values.remember,
    codeStdin: values['code-stdin'],
    verbose: values.verbose,
    chat: values.chat,
    retry: values.retry,
  };
  const result = ReceiverConfigSchema.safeParse(input);
  if (!result.success)
    throw configUsageError(result.error, input, { address: ADDRESS_RULE, retry: RETRY_RULE });
  return { kind: 'run', config: result.data, ui };
}

/**
 * Whether a command-line argument may name a sender found on the network: no port, no dot
 * (so no IPv4 literal or domain name), not `localhost`, not an IPv6 literal.
 */
export function isSenderName(text: string): boolean {
  return !/[:.[\]]/.test(text) && text.toLowerCase() !== 'localhost';
}

const ListSchema = ReceiverConfigSchema.pick({ json: true, chat: true, logLevel: true }).transform(
  (value) => ({ ...value, chat: value.chat ?? false }),
);

const FLAGS = {
  ...UI_FLAGS,
  list: { type: 'boolean' },
  chat: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  yes: { type: 'boolean', short: 'y' },
  fsync: { type: 'boolean' },
  name: { type: 'string' },
  timeout: { type: 'string' },
  retry: { type: 'string' },
  clean: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  'log-level': { type: 'string' },
  'code-stdin': { type: 'boolean' },
  remember: { type: 'boolean' },
  peers: { type: 'boolean' },
  forget: { type: 'string' },
  'no-encryption': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;
