/**
 * The question before accepting when partial data of this sender is in the chosen folder
 * (§13.8): `3 files partly received (...); resume?`, yes by default; no starts those files
 * fresh; a cancelled question is an interruption; --yes resumes without asking.
 */
import path from 'node:path';
import type { Inspection } from '@ferry/engine';
import { validateOffer } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecide, type DecideState } from '../src/decide.ts';
import type { Prompter } from '../src/ui/prompts.ts';
import { runCleanup, tempDir } from './helpers.ts';

afterEach(runCleanup);

const offer = validateOffer([
  { path: 'a.bin', kind: 'file', size: 4 * 2 ** 30 },
  { path: 'b.bin', kind: 'file', size: 10 },
]);

/** An inspection of `outDir` that found partial data of this sender. */
function inspectionWithPartials(outDir: string): Inspection {
  return {
    report: {
      outDir,
      files: 2,
      bytes: 4 * 2 ** 30 + 10,
      folders: 0,
      neededBytes: 0,
      freeBytes: undefined,
      freeAfter: undefined,
      enoughSpace: true,
      renamed: [],
      systemNames: [],
      hidden: [],
      unsavable: [],
      resumable: { files: 3, heldBytes: Math.round(2.1 * 2 ** 30), totalBytes: 4 * 2 ** 30 },
    },
  } as unknown as Inspection;
}

async function decideWith(answer: boolean | null | 'no-confirm', yes = false) {
  const out = await tempDir();
  const asked: { message: string; initial: boolean }[] = [];
  const prompter: Prompter = {
    chooseItems: async () => [0, 1],
    chooseFolder: async () => out,
    askCode: async () => null,
    ...(answer === 'no-confirm'
      ? {}
      : {
          confirm: async (message: string, initial: boolean) => {
            asked.push({ message, initial });
            return answer;
          },
        }),
  };
  const state: DecideState = { cancelled: false, refusal: undefined };
  const decide = createDecide(
    {
      yes,
      out: yes ? out : undefined,
      interactive: true,
      home: await tempDir(),
      defaultFolder: path.join(out, 'unused-default'),
      prompter,
    },
    state,
  );
  const decision = await decide(offer, undefined, new AbortController().signal, async (_, dir) =>
    inspectionWithPartials(dir),
  );
  return { decision, asked, state };
}

describe('the question to resume partial data (§13.8)', () => {
  it('D9: asks "3 files partly received (2.10 GiB of 4.00 GiB); resume?" with yes as the default; yes resumes', async () => {
    const { decision, asked } = await decideWith(true);
    expect(asked).toEqual([
      { message: '3 files partly received (2.10 GiB of 4.00 GiB); resume?', initial: true },
    ]);
    expect(decision).toMatchObject({ items: [0, 1], resume: true });
  });

  it('D9: no sets Decision.resume to false: the partial data is deleted and the files start fresh', async () => {
    const { decision } = await decideWith(false);
    expect(decision).toMatchObject({ items: [0, 1], resume: false });
  });

  it('U5: a cancelled question (Ctrl-C) is an interruption, not a no', async () => {
    const { decision, state } = await decideWith(null);
    expect(decision).toBe('cancelled');
    expect(state.cancelled).toBe(true);
  });

  it('D9: --yes resumes without asking', async () => {
    const { decision, asked } = await decideWith(false, true);
    expect(asked).toEqual([]);
    expect(decision).toMatchObject({ items: [0, 1] });
    expect(decision !== 'cancelled' && decision?.resume).not.toBe(false);
  });

  it('D9: a prompter that cannot ask keeps the default, resuming', async () => {
    const { decision } = await decideWith('no-confirm');
    expect(decision).toMatchObject({ resume: true });
  });
});
