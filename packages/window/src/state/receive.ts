/**
 * The receive window's state (slices) and actions, as zod schemas: the contract between the app's
 * window controller and the page's screens in `client/receive/`. Every string that came from a
 * peer (names, paths, messages) is shown through PeerText.
 */
import { z } from 'zod';

/** Where the window stands: the phases of one transfer, in order. */
export const RECEIVE_PHASES = [
  'find',
  'connecting',
  'code',
  'choose',
  'transferring',
  'done',
  'failed',
] as const;
export type ReceivePhase = (typeof RECEIVE_PHASES)[number];

/** Slice `phase`: the phase, and the sender's address once one is chosen. */
export const PhaseSliceSchema = z.strictObject({
  phase: z.enum(RECEIVE_PHASES),
  address: z.string().nullable(),
});
export type PhaseSlice = z.infer<typeof PhaseSliceSchema>;

/** A sender found on the network; `number` is what `connect` names it by. */
export const FoundSenderSchema = z.strictObject({
  number: z.number().int().positive(),
  name: z.string(),
  host: z.string(),
  address: z.string(),
  /** The key it announced, shortened; '' in clear. */
  key: z.string(),
  encrypted: z.boolean(),
  remembered: z.boolean(),
  /** It speaks this version of Ferry; others are listed but cannot be picked. */
  compatible: z.boolean(),
});
export type FoundSenderView = z.infer<typeof FoundSenderSchema>;

/** Slice `senders`: the search for senders on this network. */
export const SendersSliceSchema = z.strictObject({
  searching: z.boolean(),
  found: z.array(FoundSenderSchema),
  /** Why searching is not possible here, in plain words; null when it is. */
  problem: z.string().nullable(),
});
export type SendersSlice = z.infer<typeof SendersSliceSchema>;

/** Slice `pairing`: the sender wants its pairing code (phase `code`). */
export const PairingSliceSchema = z
  .strictObject({
    /** The sender's key, shortened, as ferry-send shows it beside its code. */
    fingerprint: z.string(),
  })
  .nullable();
export type PairingSlice = z.infer<typeof PairingSliceSchema>;

/** Slice `peer`: who the sender is, once the connection is secured. */
export const PeerSliceSchema = z
  .strictObject({
    address: z.string(),
    encrypted: z.boolean(),
    /** How it proved itself: the code, a remembered key, this transfer's ticket; null in clear. */
    method: z.enum(['code', 'trusted', 'resume']).nullable(),
    fingerprint: z.string().nullable(),
    /** The name this user remembered it under (who it really is), if remembered. */
    rememberedAs: z.string().nullable(),
    /** What the sender says it is called, and its machine: claims, from the OFFER. */
    name: z.string().nullable(),
    host: z.string().nullable(),
  })
  .nullable();
export type PeerSlice = z.infer<typeof PeerSliceSchema>;

/** One entry of the offer, as the tree shows it. `item`: the top-level item it belongs to. */
export const OfferEntryViewSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  path: z.string(),
  kind: z.enum(['file', 'dir']),
  size: z.number().nonnegative(),
  item: z.number().int().nonnegative(),
});
export type OfferEntryView = z.infer<typeof OfferEntryViewSchema>;

/** One top-level item: what the check boxes choose. */
export const OfferItemViewSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  name: z.string(),
  kind: z.enum(['file', 'dir']),
  files: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  /** Its name starts with a dot. */
  hidden: z.boolean(),
});
export type OfferItemView = z.infer<typeof OfferItemViewSchema>;

/** Slice `offer`: what the sender offers (phase `choose` and after). */
export const OfferSliceSchema = z
  .strictObject({
    items: z.array(OfferItemViewSchema),
    entries: z.array(OfferEntryViewSchema),
    files: z.number().int().nonnegative(),
    bytes: z.number().nonnegative(),
    folders: z.number().int().nonnegative(),
    /** Names this system cannot store, and the name each is saved under. */
    renamed: z.array(z.strictObject({ offered: z.string(), local: z.string() })),
  })
  .nullable();
export type OfferSlice = z.infer<typeof OfferSliceSchema>;

/** Slice `choice`: the items and the folder suggested, then as last inspected. */
export const ChoiceSliceSchema = z.strictObject({
  items: z.array(z.number().int().nonnegative()),
  out: z.string(),
});
export type ChoiceSlice = z.infer<typeof ChoiceSliceSchema>;

/** How one entry stands in the chosen folder, per the inspection. */
export const ENTRY_MARKS = ['present', 'partial'] as const;

/** Slice `report`: what saving the chosen items into the chosen folder would do. */
export const ReportSliceSchema = z
  .strictObject({
    items: z.array(z.number().int().nonnegative()),
    outDir: z.string(),
    files: z.number().int().nonnegative(),
    bytes: z.number().nonnegative(),
    folders: z.number().int().nonnegative(),
    neededBytes: z.number(),
    freeBytes: z.number().nullable(),
    enoughSpace: z.boolean(),
    /** Top-level names already there, and the `name (n)` each gets instead. */
    renamed: z.array(z.strictObject({ offered: z.string(), local: z.string() })),
    /** Entries this folder cannot hold: only they fail. */
    unsavable: z.array(z.strictObject({ path: z.string(), reason: z.string() })),
    /** Partial data of this sender found here. */
    resumable: z
      .strictObject({ files: z.number(), heldBytes: z.number(), totalBytes: z.number() })
      .nullable(),
    /** Files already there with the offered size (the sender confirms their digest). */
    present: z.strictObject({ files: z.number(), bytes: z.number() }).nullable(),
    /** Entry id → what is there already: the whole file, or part of it (bytes held). */
    marks: z.array(
      z.strictObject({
        id: z.number().int().nonnegative(),
        mark: z.enum(ENTRY_MARKS),
        held: z.number().nonnegative(),
      }),
    ),
    /** The folder is the home folder and hidden names would take effect there. */
    hiddenInHome: z.boolean(),
  })
  .nullable();
export type ReportSlice = z.infer<typeof ReportSliceSchema>;

/** A file concluded during the transfer, as the progress list shows it. */
export const ConcludedFileSchema = z.strictObject({
  offered: z.string(),
  size: z.number().nonnegative(),
  state: z.enum(['saved', 'present', 'failed']),
  message: z.string().nullable(),
});
export type ConcludedFile = z.infer<typeof ConcludedFileSchema>;

/** Slice `progress`: the transfer while it runs. */
export const ProgressSliceSchema = z
  .strictObject({
    outDir: z.string(),
    files: z.number().int().nonnegative(),
    /** Bytes of every requested file, and of them held before (not sent again). */
    bytes: z.number().nonnegative(),
    resumedBytes: z.number().nonnegative(),
    /** Bytes in hand now, held ones included. */
    done: z.number().nonnegative(),
    /** Bytes per second and seconds left, when known. */
    rate: z.number().nullable(),
    eta: z.number().nullable(),
    state: z.enum(['running', 'paused', 'reconnecting']),
    /** `pause` would pause now. */
    pausable: z.boolean(),
    /** Reconnecting after a cut: the attempt, and why the connection was lost. */
    reconnect: z.strictObject({ attempt: z.number(), reason: z.string() }).nullable(),
    current: z.strictObject({ offered: z.string(), size: z.number(), done: z.number() }).nullable(),
    counts: z.strictObject({ saved: z.number(), present: z.number(), failed: z.number() }),
    /** The latest concluded files, newest last (at most `MAX_CONCLUDED_SHOWN`). */
    concluded: z.array(ConcludedFileSchema),
  })
  .nullable();
export type ProgressSlice = z.infer<typeof ProgressSliceSchema>;

/** Concluded files the progress slice lists at most; the result lists them all. */
export const MAX_CONCLUDED_SHOWN = 200;

/** A saved file as the result lists it: its path here, the offered name, size and SHA-256. */
export const SavedFileViewSchema = z.strictObject({
  path: z.string(),
  offered: z.string(),
  size: z.number().nonnegative(),
  sha256: z.string(),
});

/** Slice `result`: how the transfer ended (phase `done`). */
export const ResultSliceSchema = z
  .strictObject({
    outDir: z.string().nullable(),
    saved: z.array(SavedFileViewSchema),
    present: z.array(SavedFileViewSchema),
    failed: z.array(z.strictObject({ offered: z.string(), code: z.string(), message: z.string() })),
    declined: z.boolean(),
  })
  .nullable();
export type ResultSlice = z.infer<typeof ResultSliceSchema>;

/** Slice `error`: why the last step failed, what to do next, and whether Try again can help. */
export const ErrorSliceSchema = z
  .strictObject({
    code: z.string(),
    message: z.string(),
    next: z.string(),
    retry: z.boolean(),
    /** Partial data kept for resuming: where, and how much. */
    kept: z.strictObject({ dir: z.string(), files: z.number(), heldBytes: z.number() }).nullable(),
  })
  .nullable();
export type ErrorSlice = z.infer<typeof ErrorSliceSchema>;

/** Every slice of the receive window, by name. */
export const RECEIVE_SLICES = {
  phase: PhaseSliceSchema,
  senders: SendersSliceSchema,
  pairing: PairingSliceSchema,
  peer: PeerSliceSchema,
  offer: OfferSliceSchema,
  choice: ChoiceSliceSchema,
  report: ReportSliceSchema,
  progress: ProgressSliceSchema,
  result: ResultSliceSchema,
  error: ErrorSliceSchema,
} as const;
export type ReceiveSliceName = keyof typeof RECEIVE_SLICES;

const Items = z.array(z.number().int().nonnegative()).max(1_000_000);
const Folder = z.string().min(1).max(4096);

/** The receive window's actions, by name, with their inputs. */
export const RECEIVE_ACTIONS = {
  /** Look for senders on the network again. */
  search: z.strictObject({}),
  /** Connect to a sender found (`number`) or to a typed address (`host`, `host:port`). */
  connect: z.union([
    z.strictObject({ number: z.number().int().positive() }),
    z.strictObject({ address: z.string().min(1).max(300) }),
  ]),
  /** The pairing code, as typed (spaces and dashes allowed). */
  code: z.strictObject({ code: z.string().min(1).max(100) }),
  /** Checks `out` for `items`; answers with the report (also set as the `report` slice). */
  inspect: z.strictObject({ items: Items, out: Folder }),
  /** Takes `items` into `out`; `resume` keeps partial data found there (the default). */
  accept: z.strictObject({ items: Items.min(1), out: Folder, resume: z.boolean().optional() }),
  decline: z.strictObject({}),
  pause: z.strictObject({}),
  resume: z.strictObject({}),
  /** Stops what is under way: the question, the connection or the transfer (kept to resume). */
  cancel: z.strictObject({}),
  /** Try again after a failure, with the same sender and choices, resuming what is held. */
  retry: z.strictObject({}),
  /** Back to the list of senders, to receive something else. */
  again: z.strictObject({}),
  /** Opens the finished transfer's folder in the system's file manager. */
  'open-folder': z.strictObject({}),
  /** Ends ferry-receive. */
  quit: z.strictObject({}),
} as const;
export type ReceiveActionName = keyof typeof RECEIVE_ACTIONS;
