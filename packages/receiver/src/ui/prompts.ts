import type { Readable, Writable } from 'node:stream';
import { confirm, isCancel, log, multiselect, text } from '@clack/prompts';
import { formatBytes, plural } from '@ferry/cli';
import { escapeForDisplay as esc, normalizeCode, type ValidatedOffer } from '@ferry/protocol';

/** A prompt's answer, or `null` when the user cancelled (a value, not a throw). */
export type Answer<T> = T | null;

/** The questions a receiver may ask; injected so tests can answer them. */
export interface Prompter {
  chooseItems(offer: ValidatedOffer, signal?: AbortSignal): Promise<Answer<number[]>>;
  chooseFolder(defaultFolder: string, signal?: AbortSignal): Promise<Answer<string>>;
  /** The pairing code's digits. */
  askCode(signal?: AbortSignal): Promise<Answer<string>>;
  /** A yes/no question; without this method every answer is no. */
  confirm?(message: string, initial: boolean, signal?: AbortSignal): Promise<Answer<boolean>>;
  /** Tells the user something before the next question (a folder that cannot be used). */
  notice?(message: string): void;
  /** Which of `count` senders found on the network: its number, or an address typed instead. */
  pickSender?(count: number, signal?: AbortSignal): Promise<Answer<string>>;
}

/** Prompts on a terminal with @clack/prompts. */
export function createTerminalPrompter(input: Readable, output: Writable): Prompter {
  return {
    async chooseItems(offer, signal) {
      const answer = await multiselect({
        message: 'Which items do you want? (space toggles, enter accepts)',
        options: offer.items.map((item, index) => ({
          value: index,
          label: `${esc(item.name)}${item.kind === 'dir' ? '/' : ''}`,
          hint:
            item.kind === 'dir'
              ? `${plural(item.fileCount, 'file')}, ${formatBytes(item.bytes)}`
              : formatBytes(item.bytes),
        })),
        initialValues: offer.items.map((_, index) => index),
        required: false,
        input,
        output,
        signal,
      });
      return isCancel(answer) ? null : answer;
    },
    async confirm(message, initial, signal) {
      const answer = await confirm({ message, initialValue: initial, input, output, signal });
      return isCancel(answer) ? null : answer;
    },
    notice(message) {
      log.warn(message, { output });
    },
    async pickSender(count, signal) {
      const answer = await text({
        message: `Pick one [1-${count}], or type an address:`,
        validate: (value) =>
          (value ?? '').trim() === ''
            ? `Type a number from 1 to ${count}, or an address like 192.168.1.20:7878.`
            : undefined,
        input,
        output,
        signal,
      });
      return isCancel(answer) ? null : answer;
    },
    async askCode(signal) {
      const answer = await text({
        message: 'Pairing code shown by ferry-send:',
        placeholder: '1234-5678',
        validate: (value) => (normalizeCode(value ?? '') ? undefined : 'A pairing code is 8 digits, like 1234-5678.'),
        input,
        output,
        signal,
      });
      return isCancel(answer) ? null : (normalizeCode(answer) ?? null);
    },
    async chooseFolder(defaultFolder, signal) {
      const answer = await text({
        message: 'Save to which folder?',
        placeholder: defaultFolder,
        defaultValue: defaultFolder,
        input,
        output,
        signal,
      });
      return isCancel(answer) ? null : answer;
    },
  };
}
