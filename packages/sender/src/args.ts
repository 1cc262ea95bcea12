import { configUsageError, type InfoCommand, infoCommand, parseCommandLine, UI_FLAGS, UI_USAGE, uiOptions } from '@ferry/cli';
import { type SenderConfig, SenderConfigSchema } from '@ferry/protocol';
import { UsageError } from './errors.ts';

/** What the command line asks for: run, or print help or the version. */
export type Command = { kind: 'run'; config: SenderConfig } | InfoCommand;

/** Usage text; every flag is listed here and in the README. */
export const USAGE = `Usage: ferry-send [options] <file|folder>...
       ferry-send --ui [options] [file|folder...]
       ferry-send --chat [options] [file|folder...]

Offers files and folders to receivers on the same network, and announces
itself there: ferry-receive with no address on the other machine finds it (or
give ferry-receive one of the addresses this prints), then give it the
pairing code this prints. Transfers are encrypted (TLS 1.3); the code proves
both sides are the machines you think, and works for one pairing.

With --chat, holds a conversation instead: people join it with
ferry-receive --chat, everyone types messages, and files go either way
(/help lists the commands). Files named here are offered to each one who joins.
With --ui as well, the conversation is shown in the window too, and offers
are answered there.

With --ui, shows a window in the browser of this computer instead: pick files
there, and see the code, the addresses and every receiver's progress.

Options:
${UI_USAGE}
      --chat            hold a conversation (see above)
  -o, --out <dir>       with --chat: save accepted files here when /accept
                        names no folder (default ~/Downloads)
  -y, --yes             with --chat: accept every offer without asking
  -p, --port <n>        port to listen on (default 7878; 0 picks a free port)
      --host <address>  listen on this address only (default: all interfaces)
      --no-announce     do not announce this sender on the local network
                        (receivers then type an address)
      --qr              also print the command a receiver runs (the first
                        address) as a QR code, to read it with a camera
      --once            stop after the first receiver has taken its files
      --link            also share the files by a secret link that any browser
                        or curl can download from (plain HTTP, same port)
      --link-downloads <n>
                        end the link after n complete downloads
      --name <name>     name shown to receivers (default: your user name)
      --remember        remember receivers that pair with the code, so they
                        need no code next time (they must remember you too)
      --peers           list the remembered receivers and exit
      --forget <peer>   forget a remembered receiver (name or key) and exit
      --no-encryption   send in clear with no pairing code, to measure raw
                        speed; the receiver must also say --no-encryption
      --timeout <s>     end a receiver's session when it makes no progress
                        for this many seconds (default 60, from 1 to 3600);
                        a receiver must also pair and greet within 10 s, or
                        --timeout if less
      --json            print one JSON event per line instead of text
      --log-level <l>   silent, fatal, error, warn, info, debug or trace
                        (default silent); logs go to stderr
  -h, --help            show this help
  -v, --version         show the version
`;

/** Parses argv (without node and script) into a validated command; throws UsageError. */
export function parseSenderArgs(argv: readonly string[]): Command {
  const { values, positionals } = parseCommandLine(argv, FLAGS);
  const info = infoCommand(values);
  if (info) return info;
  const window = uiOptions(values);
  const input = {
    paths: positionals,
    host: values.host,
    port: values.port,
    once: values.once,
    json: values.json,
    logLevel: values['log-level'],
    name: values.name,
    encryption: !values['no-encryption'],
    remember: values.remember,
    timeout: values.timeout,
    chat: values.chat,
    out: values.out,
    yes: values.yes,
    announce: !values['no-announce'],
    qr: values.qr,
    link: values.link,
    linkDownloads: values['link-downloads'],
    ui: window.ui,
    open: window.open,
    uiPort: window.port,
  };
  if (values.qr && values.json) {
    throw new UsageError('--qr draws a code for people to scan, and --json prints events for programs: leave out one');
  }
  if (values.chat && values.once) {
    throw new UsageError('--once stops after one transfer, but a conversation goes on until you /quit: leave out --once');
  }
  for (const flag of ['out', 'yes'] as const) {
    if (values[flag] !== undefined && !values.chat) {
      throw new UsageError(`--${flag} is for a conversation (--chat): without it, the receiver chooses where to save`);
    }
  }
  const result = SenderConfigSchema.safeParse(input);
  if (!result.success) throw configUsageError(result.error, input, RULES);
  return { kind: 'run', config: result.data };
}

/** What the sender's own flags allow, in words. */
const RULES = { linkDownloads: '--link-downloads must be a whole number from 1 to 1000000' };

const FLAGS = {
  chat: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  yes: { type: 'boolean', short: 'y' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  once: { type: 'boolean' },
  qr: { type: 'boolean' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  remember: { type: 'boolean' },
  peers: { type: 'boolean' },
  forget: { type: 'string' },
  'no-encryption': { type: 'boolean' },
  'no-announce': { type: 'boolean' },
  link: { type: 'boolean' },
  'link-downloads': { type: 'string' },
  ...UI_FLAGS,
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;
