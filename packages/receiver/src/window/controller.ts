/**
 * The receiving window's controller: drives the headless receiver core and the search for
 * senders, maps their events to the window's slices (`@ferry/window/state/receive`) and answers
 * the page's actions. No transfer logic lives here: pausing, resuming and retrying are the
 * core's (§13.9), and a retry is a new run of the core with the same sender and choices.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expandHome, type Io, prepareDefaultFolder } from '@ferry/cli';
import { BrowseError, type Browser } from '@ferry/discovery';
import { folderProblem, hiddenTopLevel, type Inspection } from '@ferry/engine';
import {
  AddressSchema,
  escapeForDisplay as esc,
  normalizeCode,
  type ValidatedOffer,
} from '@ferry/protocol';
import type { TrustStore } from '@ferry/protocol/node';
import { WindowActionError, type WindowSurface } from '@ferry/window';
import {
  RECEIVE_ACTIONS,
  type ReceiveActionName,
  type ReceivePhase,
  type PeerSlice,
  type ReceiveSliceName,
} from '@ferry/window/state/receive';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  findSenders,
  hostPort,
  type ListedSender,
  senderLabel,
  speaksOurVersion,
} from '../find.ts';
import type { Decision, Inspect, OfferedResume, ReceiveResult, Receiver } from '../receiver.ts';
import { describeFailure } from './failure.ts';
import { ProgressTracker } from './progress.ts';
import { offerView, reportView, resultView, sameEntries } from './views.ts';

export type { WindowSurface };

/** Where to connect: an address, and the key a sender found on the network announced. */
export interface Target {
  readonly host: string;
  readonly port: number;
  /** As shown: `host:port`. */
  readonly label: string;
  readonly announcedKey?: { readonly hint: string; readonly sender: string } | undefined;
}

/** One run of the core, as the controller asks the app to make it. */
export interface RunSpec {
  readonly target: Target;
  readonly signal: AbortSignal;
  readonly askCode: (signal?: AbortSignal) => Promise<string | null>;
  readonly decide: (
    offer: ValidatedOffer,
    sender: unknown,
    signal: AbortSignal,
    inspect: Inspect,
  ) => Promise<Decision | 'cancelled' | null>;
  /** The ticket of the run before, for a retry (§13.9). */
  readonly resumeWith: OfferedResume | undefined;
}

/** Options of {@link createReceiveController}. */
export interface ReceiveControllerOptions {
  readonly window: WindowSurface;
  readonly logger: Logger;
  /** Makes the receiver of one run (the app fills in security, timeouts and the rest). */
  readonly makeReceiver: (spec: RunSpec) => Receiver;
  /** Called with each run's receiver before it runs: the terminal shows its events too. */
  readonly onRun?: ((receiver: Receiver) => (result: ReceiveResult) => void) | undefined;
  /** Looks for senders; undefined where it cannot (then only typed addresses). */
  readonly browser?: Browser | undefined;
  readonly trust?: TrustStore | undefined;
  /** For `findSenders`'s output (`--json` prints what it finds). */
  readonly io: Io;
  readonly json: boolean;
  readonly home: string;
  readonly defaultFolder: string;
  /** Opens a folder in the system's file manager. */
  readonly openFolder: (dir: string) => Promise<void>;
  /** The process is ending (Ctrl-C): every run stops. */
  readonly signal: AbortSignal;
}

/** A running controller. */
export interface ReceiveController {
  /** Starts: connects to `target` at once, or shows the senders found on the network. */
  start(target?: Target): void;
  /** Resolves when the user chose Quit. */
  readonly quit: Promise<void>;
  /** Resolves once the run under way, if any, has ended. */
  idle(): Promise<void>;
}

interface Waiting<T> {
  readonly resolve: (value: T) => void;
}

/** The run under way. */
interface Run {
  readonly receiver: Receiver;
  readonly abort: AbortController;
  readonly done: Promise<void>;
  cancelled: boolean;
  code?: Waiting<string | null> | undefined;
  decision?: Waiting<Decision | 'cancelled' | null> | undefined;
  offer?: ValidatedOffer | undefined;
  inspect?: Inspect | undefined;
  /** The last inspection, to accept without inspecting again. */
  inspected?: { items: readonly number[]; out: string; inspection: Inspection } | undefined;
  /** An accept is under way (checking the folder): a second one is refused, not mixed in. */
  accepting?: boolean;
  kept?: { dir: string; files: number; heldBytes: number } | undefined;
  progress?: ProgressTracker | undefined;
}

/** Creates the receiving window's controller and registers its actions on `options.window`. */
export function createReceiveController(options: ReceiveControllerOptions): ReceiveController {
  const { window, logger: parent } = options;
  const log = parent.child({ component: 'receiver.window' });
  const set = (slice: ReceiveSliceName, value: unknown) => window.set(slice, value);
  let phase: ReceivePhase = 'find';
  let target: Target | undefined;
  let run: Run | undefined;
  let listed: ListedSender[] = [];
  let search: AbortController | undefined;
  /** What the user chose last, taken again by a retry while the offer is the same. */
  let chosen: { offer: ValidatedOffer; items: readonly number[]; out: string } | undefined;
  let lastOffered: OfferedResume | undefined;
  let finishedDir: string | undefined;
  let onQuit!: () => void;
  const quit = new Promise<void>((resolve) => {
    onQuit = resolve;
  });

  const setPhase = (next: ReceivePhase) => {
    phase = next;
    set('phase', { phase, address: target?.label ?? null });
  };
  const clearRun = () => {
    for (const slice of [
      'pairing',
      'peer',
      'offer',
      'report',
      'progress',
      'result',
      'error',
    ] as const)
      set(slice, null);
  };

  const refuse = (code: string, message: string, status = 409): never => {
    throw new WindowActionError(code, message, status);
  };
  const inPhase = (...phases: ReceivePhase[]) => {
    if (!phases.includes(phase)) refuse('ERR_NOT_NOW', notNow(phase));
  };

  function searchSenders(): void {
    search?.abort();
    listed = [];
    if (!options.browser) {
      set('senders', {
        searching: false,
        found: [],
        problem: 'Looking for senders is not possible here: type the address ferry-send shows.',
      });
      return;
    }
    const controller = new AbortController();
    search = controller;
    const publish = (searching: boolean, problem: string | null = null) =>
      set('senders', {
        searching,
        found: listed.map((sender) => ({
          number: sender.number,
          name: sender.name,
          host: sender.host,
          address: hostPort(sender),
          key: sender.keyHint === '' ? '' : sender.keyHint,
          encrypted: sender.encrypted,
          remembered: sender.remembered,
          compatible: speaksOurVersion(sender),
        })),
        problem,
      });
    publish(true);
    const stop = () => controller.abort();
    options.signal.addEventListener('abort', stop, { once: true });
    findSenders({
      browser: options.browser,
      chat: false,
      io: options.io,
      json: options.json,
      trust: options.trust,
      signal: controller.signal,
      onFound: (sender) => {
        listed.push(sender);
        publish(true);
      },
    })
      .then((found) => {
        if (search !== controller) return;
        // A sender that said goodbye meanwhile is left out.
        listed = found;
        publish(false);
      })
      .catch((error: unknown) => {
        if (search !== controller) return;
        const why =
          error instanceof BrowseError
            ? esc(error.message)
            : esc(String((error as Error)?.message ?? error));
        log.warn({ err: error }, 'cannot look for senders');
        publish(
          false,
          `Cannot look for senders on this network (${why}): type the address ferry-send shows.`,
        );
      })
      .finally(() => options.signal.removeEventListener('abort', stop));
  }

  /** Starts a run of the core against `to`; a retry passes the ticket and takes the same choice. */
  function begin(to: Target, retry: boolean): void {
    search?.abort();
    search = undefined;
    target = to;
    finishedDir = undefined;
    clearRun();
    setPhase('connecting');
    const abort = new AbortController();
    const onProcessAbort = () => abort.abort();
    options.signal.addEventListener('abort', onProcessAbort, { once: true });
    const again = retry ? chosen : undefined;
    let current: Run | undefined;
    const receiver = options.makeReceiver({
      target: to,
      signal: abort.signal,
      resumeWith: retry ? lastOffered : undefined,
      askCode: (signal) =>
        new Promise<string | null>((resolve) => {
          if (!current || signal?.aborted) return resolve(null);
          current.code = { resolve };
          setPhase('code');
          signal?.addEventListener('abort', () => resolve(null), { once: true });
        }).finally(() => {
          if (current) current.code = undefined;
        }),
      decide: async (offer, _sender, signal, inspect) => {
        if (!current) return 'cancelled';
        current.offer = offer;
        current.inspect = inspect;
        if (again && sameEntries(again.offer, offer)) {
          // Try again: the same offer, so the same choice; what is held resumes (§13.8).
          const inspection = await inspect(again.items, again.out);
          set('report', reportView(again.items, inspection, false));
          chosen = { offer, items: again.items, out: again.out };
          return { items: again.items, outDir: again.out, inspection, resume: true };
        }
        const items = offer.items.map((_, index) => index);
        const out = chosen?.out ?? options.defaultFolder;
        const run = current;
        // Waiting for the answer before the page can give it.
        const decided = new Promise<Decision | 'cancelled' | null>((resolve) => {
          if (signal.aborted) return resolve('cancelled');
          run.decision = { resolve };
          signal.addEventListener('abort', () => resolve('cancelled'), { once: true });
        }).finally(() => {
          run.decision = undefined;
        });
        set('choice', { items, out });
        setPhase('choose');
        // The folder suggested is inspected at once when it can be, to show what it holds.
        if ((await folderProblem(out)) === undefined)
          await inspectFor(run, items, out).catch(() => {});
        return decided;
      },
    });
    const summarise = options.onRun?.(receiver);
    wire(receiver, () => current);
    const done = (async () => {
      try {
        const result = await receiver.run();
        current?.progress?.stop();
        summarise?.(result);
        lastOffered = receiver.offered ?? lastOffered;
        if (current?.cancelled && result.declined) {
          // Cancelled before choosing: back to the start, nothing to report.
          toFind();
          return;
        }
        finishedDir = result.outDir;
        current?.progress?.publishNow();
        set('result', resultView(result));
        setPhase('done');
      } catch (error) {
        current?.progress?.stop();
        lastOffered = receiver.offered ?? lastOffered;
        if (options.signal.aborted) return;
        const cancelled = current?.cancelled ?? false;
        if (cancelled && !current?.kept && !current?.progress) {
          toFind();
          return;
        }
        log.info({ err: error }, 'receive failed');
        set('error', describeFailure(error, { kept: current?.kept, cancelled }));
        setPhase('failed');
      } finally {
        options.signal.removeEventListener('abort', onProcessAbort);
        if (run === current) run = undefined;
      }
    })();
    current = { receiver, abort, done, cancelled: false };
    run = current;
  }

  function toFind(): void {
    clearRun();
    setPhase('find');
    searchSenders();
  }

  /** Subscribes the window's slices to one run's events. */
  function wire(receiver: Receiver, current: () => Run | undefined): void {
    let address = '';
    receiver.on('connected', (event) => {
      address = event.address;
    });
    receiver.on('code-needed', ({ fingerprint }) => set('pairing', { fingerprint }));
    let peer: NonNullable<PeerSlice> | undefined;
    receiver.on('secured', ({ encrypted, method, fingerprint, rememberedAs }) => {
      set('pairing', null);
      peer = {
        address,
        encrypted,
        method: method ?? null,
        fingerprint: fingerprint ?? null,
        rememberedAs: rememberedAs ?? null,
        name: null,
        host: null,
      };
      set('peer', peer);
    });
    receiver.on('offer', (event) => {
      set('offer', offerView(event));
      // What the sender calls itself is a claim: the page shows it as such, beside the key.
      if (peer) set('peer', { ...peer, name: event.sender.name, host: event.sender.host });
    });
    receiver.on('start', (event) => {
      const run = current();
      if (!run) return;
      finishedDir = event.outDir;
      run.progress = new ProgressTracker(
        event,
        {
          now: (slice) => set('progress', slice),
          later: (produce) => window.setLater('progress', produce),
        },
        () => receiver.pausable,
      );
      setPhase('transferring');
    });
    receiver.on('progress', ({ bytes }) => current()?.progress?.add(bytes));
    receiver.on('file-started', (event) => current()?.progress?.started(event));
    receiver.on('file-restarted', () => current()?.progress?.restarted());
    receiver.on('file-saved', (file) =>
      current()?.progress?.concluded({
        offered: file.offered,
        size: file.size,
        state: 'saved',
        message: null,
      }),
    );
    receiver.on('file-present', (file) =>
      current()?.progress?.concluded({
        offered: file.offered,
        size: file.size,
        state: 'present',
        message: null,
      }),
    );
    receiver.on('file-failed', (file) =>
      current()?.progress?.concluded({
        offered: file.offered,
        size: 0,
        state: 'failed',
        message: esc(file.message),
      }),
    );
    receiver.on('connection-lost', ({ message }) =>
      current()?.progress?.setState('reconnecting', { attempt: 0, reason: esc(message) }),
    );
    receiver.on('reconnecting', ({ attempt }) => {
      const progress = current()?.progress;
      if (!progress) return;
      progress.setState('reconnecting', {
        attempt,
        reason: progress.reconnectReason ?? 'resuming after a pause',
      });
    });
    receiver.on('paused', () => current()?.progress?.setState('paused'));
    receiver.on('resumed', () => current()?.progress?.setState('running'));
    receiver.on('partial-kept', (kept) => {
      const run = current();
      if (run) run.kept = { dir: kept.dir, files: kept.files, heldBytes: kept.heldBytes };
    });
  }

  /** Inspects `out` for `items` with the run's core, and shows the report. */
  async function inspectFor(current: Run, items: readonly number[], out: string): Promise<unknown> {
    if (!current.inspect || !current.offer) return refuse('ERR_NOT_NOW', notNow(phase));
    const inspection = await current.inspect(items, out);
    const hidden = hiddenTopLevel(current.offer, items);
    const home = await fs.realpath(options.home).catch(() => path.resolve(options.home));
    const report = reportView(
      items,
      inspection,
      hidden.length > 0 && inspection.report.outDir === home,
    );
    current.inspected = { items, out, inspection };
    set('choice', { items: [...items], out });
    set('report', report);
    return report;
  }

  /**
   * A folder typed or picked: absolute, existing, a folder, writable. The default one is made
   * when the user accepts into it (`create`), never just to look at it.
   */
  async function usableFolder(text: string, create: boolean): Promise<string> {
    const out = path.resolve(expandHome(text, options.home));
    if (create && out === path.resolve(options.defaultFolder)) {
      await prepareDefaultFolder(out, options.home).catch((error: unknown) =>
        refuse('ERR_FOLDER', `${esc((error as Error).message)}: pick another folder.`, 400),
      );
    }
    const problem = await folderProblem(out);
    if (problem === 'missing')
      refuse(
        'ERR_FOLDER',
        'That folder does not exist: create it with New folder, or pick another.',
        400,
      );
    if (problem === 'not-a-folder')
      refuse('ERR_FOLDER', 'That is not a folder: pick a folder.', 400);
    if (problem !== undefined)
      refuse('ERR_FOLDER', 'You cannot write into that folder: pick another.', 400);
    return out;
  }

  function checkItems(items: readonly number[]): void {
    const count = run?.offer?.items.length ?? 0;
    if (items.some((index) => index >= count))
      refuse('ERR_BAD_REQUEST', 'Those items are not in the offer: reload the page.', 400);
  }

  const handlers: {
    [K in ReceiveActionName]: (
      input: z.infer<(typeof RECEIVE_ACTIONS)[K]>,
    ) => Promise<unknown> | unknown;
  } = {
    search: () => {
      inPhase('find');
      searchSenders();
    },
    connect: (input) => {
      inPhase('find', 'done', 'failed');
      if ('number' in input) {
        const sender = listed.find((candidate) => candidate.number === input.number);
        if (!sender)
          return refuse('ERR_NOT_FOUND', 'That sender is no longer listed: search again.', 404);
        if (!speaksOurVersion(sender))
          return refuse(
            'ERR_VERSION',
            'That sender speaks another version of Ferry: use the same version on both computers.',
          );
        const address = sender.addresses[0] ?? sender.source;
        begin(
          {
            host: address,
            port: sender.port,
            label: hostPort(sender),
            announcedKey:
              sender.keyHint === ''
                ? undefined
                : { hint: sender.keyHint, sender: senderLabel(sender, true) },
          },
          false,
        );
        return;
      }
      const parsed = AddressSchema.safeParse(input.address);
      if (!parsed.success)
        return refuse(
          'ERR_BAD_ADDRESS',
          'That is not an address: type it as ferry-send shows it, like 192.168.1.20 or 192.168.1.20:7878.',
          400,
        );
      begin(targetOf(parsed.data.host, parsed.data.port), false);
    },
    code: (input) => {
      inPhase('code');
      const code = normalizeCode(input.code);
      // Never echoed: what was typed may be the code, or close to it.
      if (code === undefined)
        return refuse(
          'ERR_BAD_CODE',
          'That is not a pairing code: type the digits ferry-send shows.',
          400,
        );
      const waiting = run?.code;
      if (!waiting) return refuse('ERR_NOT_NOW', notNow(phase));
      setPhase('connecting');
      waiting.resolve(code);
    },
    inspect: async (input) => {
      inPhase('choose');
      checkItems(input.items);
      const out = await usableFolder(input.out, false);
      return inspectFor(run!, input.items, out);
    },
    accept: async (input) => {
      inPhase('choose');
      checkItems(input.items);
      const current = run!;
      if (current.accepting)
        return refuse('ERR_NOT_NOW', 'These files are being accepted already: wait a moment.');
      current.accepting = true;
      let accepted = false;
      try {
        const out = await usableFolder(input.out, true);
        const same = current.inspected;
        if (!same || same.out !== out || same.items.join() !== input.items.join())
          await inspectFor(current, input.items, out);
        const inspection = current.inspected!.inspection;
        if (!inspection.report.enoughSpace)
          return refuse(
            'ERR_NO_SPACE',
            'There is not enough free space in that folder for these files: free some space, pick another folder or fewer items.',
          );
        const waiting = current.decision;
        if (!waiting) return refuse('ERR_NOT_NOW', notNow(phase));
        chosen = { offer: current.offer!, items: input.items, out };
        // The phase turns to transferring once the request is out (held data is checked first).
        waiting.resolve({
          items: input.items,
          outDir: out,
          inspection,
          resume: input.resume ?? true,
        });
        accepted = true;
      } finally {
        if (!accepted) current.accepting = false;
      }
    },
    decline: () => {
      inPhase('choose');
      const waiting = run?.decision;
      if (!waiting) return refuse('ERR_NOT_NOW', notNow(phase));
      waiting.resolve(null);
    },
    pause: () => {
      inPhase('transferring');
      if (!run?.receiver.pause())
        return refuse(
          'ERR_CANNOT_PAUSE',
          'This transfer cannot be paused now: the sender cannot take it up again later. Cancel it, or let it finish.',
        );
      run.progress?.setState('paused');
    },
    resume: () => {
      inPhase('transferring');
      if (!run?.receiver.resume()) return refuse('ERR_NOT_PAUSED', 'The transfer is not paused.');
      run.progress?.setState('reconnecting', { attempt: 0, reason: 'resuming after a pause' });
    },
    cancel: () => {
      inPhase('connecting', 'code', 'choose', 'transferring');
      if (!run) return;
      run.cancelled = true;
      run.abort.abort();
    },
    retry: () => {
      inPhase('failed');
      if (!target) return refuse('ERR_NOT_NOW', notNow(phase));
      begin(target, true);
    },
    again: () => {
      inPhase('done', 'failed');
      toFind();
    },
    'open-folder': async () => {
      inPhase('done');
      if (!finishedDir)
        return refuse('ERR_NOT_NOW', 'Nothing was saved, so there is no folder to open.');
      await options.openFolder(finishedDir);
    },
    quit: () => {
      search?.abort();
      if (run) {
        run.cancelled = true;
        run.abort.abort();
      }
      onQuit();
    },
  };
  for (const name of Object.keys(RECEIVE_ACTIONS) as ReceiveActionName[])
    window.action(name, RECEIVE_ACTIONS[name], handlers[name] as (input: unknown) => unknown);

  return {
    start(to) {
      set('senders', { searching: false, found: [], problem: null });
      clearRun();
      set('choice', { items: [], out: options.defaultFolder });
      if (to) begin(to, false);
      else toFind();
    },
    quit,
    idle: async () => {
      await run?.done;
    },
  };
}

/** A target typed as host and port. */
export function targetOf(host: string, port: number): Target {
  return { host, port, label: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

function notNow(phase: ReceivePhase): string {
  return phase === 'transferring'
    ? 'A transfer is under way: cancel it first, or wait for it to finish.'
    : 'That cannot be done at this step: reload the page to see where Ferry is.';
}
