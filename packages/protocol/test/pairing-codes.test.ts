import { describe, expect, it } from 'vitest';
import { PAIRING } from '../src/constants.ts';
import { AuthError } from '../src/errors.ts';
import { PairingCodes, type PairingEvents } from '../src/pairing/codes.ts';
import { normalizeCode } from '../src/pairing/code.ts';
import { thrown } from './helpers.ts';

/** Codes with a fast stand-in for scrypt, and every event they emitted, in order. */
function codes(derive: (code: string) => Promise<bigint> = async (code) => BigInt(code)) {
  const pairing = new PairingCodes(derive);
  const events: { event: keyof PairingEvents; payload: unknown }[] = [];
  for (const event of ['code', 'attempt-failed', 'closed'] as const) {
    pairing.on(event, (payload) => events.push({ event, payload }));
  }
  pairing.start();
  const shown = () =>
    events.filter((entry) => entry.event === 'code').map((entry) => entry.payload as PairingEvents['code']);
  return { pairing, events, shown, current: () => normalizeCode(shown().at(-1)!.code)! };
}

/** One attempt whose share went out and that failed (a wrong guess). */
async function failOnce(pairing: PairingCodes): Promise<void> {
  const attempt = await pairing.begin();
  attempt.shareReceived();
  attempt.end();
}

describe('PairingCodes', () => {
  it('shows a first code and derives the password of exactly that code', async () => {
    const { pairing, shown, current } = codes();
    expect(shown()).toEqual([{ code: expect.any(String), reason: 'first', failed: 0 }]);
    const attempt = await pairing.begin();
    expect(attempt.password).toBe(BigInt(current()));
  });

  it('G10: there is no default code: every sender run draws its own at random', () => {
    const firsts = Array.from({ length: 200 }, () => codes().current());
    for (const code of firsts) expect(code).toMatch(/^\d{8}$/);
    // 200 draws from 10^8 codes: two alike about once in 5,000 runs, three almost never.
    expect(new Set(firsts).size).toBeGreaterThanOrEqual(199);
  });

  it('a success uses the code up and shows the next one', async () => {
    const { pairing, shown } = codes();
    const first = shown()[0]!.code;
    const attempt = await pairing.begin();
    attempt.shareReceived();
    attempt.succeed();
    attempt.end();
    expect(shown().map((code) => code.reason)).toEqual(['first', 'used']);
    expect(shown()[1]!.code).not.toBe(first);
    expect(pairing.failedAttempts).toBe(0);
  });

  it('G3: of two attempts under way with one code, only the first to succeed gets in', async () => {
    const { pairing, shown } = codes();
    const one = await pairing.begin();
    const two = await pairing.begin();
    one.shareReceived();
    two.shareReceived();
    one.succeed();
    const error = thrown(() => two.succeed());
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('ERR_PAIRING_FAILED');
    one.end();
    two.end();
    // One code, one receiver: the second proved it knew the code, so it is not a wrong guess.
    expect(shown().map((code) => code.reason)).toEqual(['first', 'used']);
    expect(pairing.failedAttempts).toBe(0);
  });

  it(`G2: allows ${PAIRING.attemptsPerCode} attempts of a code in flight and refuses one more`, async () => {
    const { pairing } = codes();
    for (let i = 0; i < PAIRING.attemptsPerCode; i++) await pairing.begin();
    const error = await pairing.begin().catch((caught: unknown) => caught);
    expect((error as AuthError).code).toBe('ERR_PAIRING_UNAVAILABLE');
  });

  it(`G2: retires a code after ${PAIRING.attemptsPerCode} wrong guesses and says how many failed`, async () => {
    const { pairing, events, shown } = codes();
    for (let i = 0; i < PAIRING.attemptsPerCode - 1; i++) await failOnce(pairing);
    expect(shown()).toHaveLength(1);
    await failOnce(pairing);
    expect(shown().at(-1)).toMatchObject({ reason: 'retired', failed: PAIRING.attemptsPerCode });
    const failures = events.filter((entry) => entry.event === 'attempt-failed').map((entry) => entry.payload);
    expect(failures).toEqual(
      Array.from({ length: PAIRING.attemptsPerCode }, (_, i) => ({ failed: i + 1, limit: PAIRING.attemptsPerCode })),
    );
  });

  it('an attempt that ends before its share went out costs nothing and frees its place', async () => {
    const { pairing, shown } = codes();
    for (let round = 0; round < PAIRING.attemptsPerCode * 3; round++) (await pairing.begin()).end();
    expect(shown()).toHaveLength(1);
    expect(pairing.failedAttempts).toBe(0);
  });

  it('a wrong guess that ends after its code was replaced is still reported', async () => {
    const { pairing, events } = codes();
    const slow = await pairing.begin();
    slow.shareReceived();
    const fast = await pairing.begin();
    fast.succeed();
    slow.end();
    expect(events.filter((entry) => entry.event === 'attempt-failed')).toHaveLength(1);
    expect(pairing.failedAttempts).toBe(1);
  });

  it('a code whose derivation fails frees the place it took', async () => {
    const { pairing } = codes(async () => {
      throw new Error('out of memory');
    });
    for (let i = 0; i <= PAIRING.attemptsPerCode; i++) {
      await expect(pairing.begin()).rejects.toThrow('out of memory');
    }
  });

  it(`G2: stops pairing after ${PAIRING.maxRetiredCodes} retired codes; then every attempt is refused`, async () => {
    const { pairing, events } = codes();
    for (let code = 0; code < PAIRING.maxRetiredCodes; code++) {
      for (let i = 0; i < PAIRING.attemptsPerCode; i++) await failOnce(pairing);
    }
    const total = PAIRING.maxRetiredCodes * PAIRING.attemptsPerCode;
    expect(events.at(-1)).toEqual({ event: 'closed', payload: { failed: total } });
    expect(pairing.failedAttempts).toBe(total);
    const error = await pairing.begin().catch((caught: unknown) => caught);
    expect((error as AuthError).code).toBe('ERR_PAIRING_UNAVAILABLE');
  });
});
