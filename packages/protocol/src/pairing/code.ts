import { randomInt } from 'node:crypto';
import { PAIRING } from '../constants.ts';

/**
 * A fresh one-time pairing code: uniformly random digits from the CSPRNG. There is no default
 * and no way to choose one, so no code is ever shared between two pairings (G10).
 */
export function generateCode(): string {
  const digits = PAIRING.codeDigits;
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0');
}

/** The code as shown and read aloud: groups of four digits, `1234-5678`. */
export function formatCode(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1-');
}

/**
 * The digits of a code as a person typed it (spaces, dashes and dots between groups are
 * fine), or undefined if it is not a code. Never echo the input back: it may be the code.
 */
export function normalizeCode(input: string): string | undefined {
  const digits = input.normalize('NFKC').replace(/[\s.\-_]/g, '');
  return new RegExp(`^\\d{${PAIRING.codeDigits}}$`).test(digits) ? digits : undefined;
}
