/**
 * Reconnection tickets (PROTOCOL.md §13.4) over real loopback TLS: AUTH `resume` lets the
 * receiver a ticket was issued to back in without a code, and nobody else; a recorded proof, a
 * ticket of a restarted sender, an expired or completed ticket all need a code. Rows D6.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, RESUME } from '../src/constants.ts';
import { ErrorCode } from '../src/errors.ts';
import { concatFrame } from '../src/frame/encode.ts';
import { encodeMessage } from '../src/messages/codec.ts';
import { derivePasswordScalar } from '../src/node/spake2.ts';
import { resumeProof, type Ticket, TicketStore } from '../src/node/tickets.ts';
import {
  client,
  codes,
  errorOf,
  machine,
  nextFrame,
  rawTlsClient,
  runCleanups,
  server,
  serverSide,
} from './secure-kit.ts';

afterEach(runCleanups);

/** A sender holding `tickets`, and the receiver it issued a ticket to. */
async function setup(options: { now?: () => number } = {}) {
  const sender = await machine('receiver');
  const receiver = await machine('sender');
  const tickets = new TicketStore(options);
  const ticket = tickets.issue(receiver.identity.fingerprint);
  return { sender, receiver, tickets, ticket };
}

/** The proof a raw client makes on its own connection. */
function proofOn(secure: tls.TLSSocket, secret: Uint8Array): string {
  const exported = secure.exportKeyingMaterial(32, 'EXPORTER-ferry-resume-v1', Buffer.alloc(0));
  return Buffer.from(resumeProof(secret, exported)).toString('hex');
}

function sendResume(secure: tls.TLSSocket, proof: string): void {
  secure.write(
    concatFrame(FrameType.AUTH, encodeMessage(FrameType.AUTH, { method: 'resume', proof })),
  );
}

describe('AUTH resume', () => {
  it('D6: a valid ticket gets its receiver in without a code, on both sides as method resume', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    if (outcome.kind !== 'secured') throw new Error(`not secured: ${outcome.kind}`);
    expect(outcome.secured.peer?.method).toBe('resume');
    expect(Buffer.from(outcome.secured.peer!.fingerprint)).toEqual(
      Buffer.from(sender.identity.fingerprint),
    );
    const theirs = await listening.result();
    if (!('secured' in theirs)) throw theirs.error;
    expect(theirs.secured.peer?.method).toBe('resume');
    expect(theirs.secured.peer?.ticket).toBe(ticket);
    expect(Buffer.from(theirs.secured.peer!.fingerprint)).toEqual(
      Buffer.from(receiver.identity.fingerprint),
    );
  });

  it('D6: a proof made by another key holding the same ticket gets code-needed', async () => {
    const { sender, tickets, ticket } = await setup();
    const other = await machine('sender');
    const listening = await server(serverSide(sender.identity, { tickets }));
    const outcome = await client(listening.port, {
      identity: other.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    expect(outcome.kind).toBe('code-needed');
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.CONNECTION_CLOSED);
    expect(tickets.size).toBe(1);
  });

  it('D6: a refused ticket lets the receiver go on with the code on the same connection', async () => {
    const { sender, receiver, tickets } = await setup();
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { tickets, pairing }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: randomBytes(RESUME.ticketBytes),
      expectFingerprint: sender.identity.fingerprint,
      password: await derivePasswordScalar(current()),
    });
    if (outcome.kind !== 'secured') throw new Error(`not secured: ${outcome.kind}`);
    expect(outcome.secured.peer?.method).toBe('code');
    const theirs = await listening.result();
    if (!('secured' in theirs)) throw theirs.error;
    expect(theirs.secured.peer?.method).toBe('code');
    expect(theirs.secured.peer?.ticket).toBeUndefined();
  });

  it('D6: a proof recorded from one connection and replayed on a new one gets code-needed', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets }));
    const first = await rawTlsClient(listening.port, receiver.identity);
    const recorded = proofOn(first, ticket.secret);
    sendResume(first, recorded);
    expect(await nextFrame(first)).toEqual({
      type: FrameType.AUTH_REPLY,
      message: { result: 'ok' },
    });
    // Someone who recorded that proof (the receiver's own key cannot be stolen this way; the
    // strongest case is the right key with the old proof) tries it on a fresh connection.
    const second = await rawTlsClient(listening.port, receiver.identity);
    expect(proofOn(second, ticket.secret)).not.toBe(recorded);
    sendResume(second, recorded);
    expect(await nextFrame(second)).toEqual({
      type: FrameType.AUTH_REPLY,
      message: { result: 'code-needed' },
    });
    second.destroy();
    expect('secured' in (await listening.result(0))).toBe(true);
    expect('error' in (await listening.result(1))).toBe(true);
  });

  it('D6: a ticket unknown to the sender (it restarted: a new TicketStore) gets code-needed', async () => {
    const { sender, receiver, ticket } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets: new TicketStore() }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    expect(outcome.kind).toBe('code-needed');
  });

  it('D6: a sender with no ticket store answers AUTH resume with code-needed', async () => {
    const { sender, receiver, ticket } = await setup();
    const listening = await server(serverSide(sender.identity));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    expect(outcome.kind).toBe('code-needed');
  });

  it('D6: an expired ticket (ticketMs after its last connection ended) gets code-needed', async () => {
    let now = 1_000;
    const { sender, receiver, tickets, ticket } = await setup({ now: () => now });
    tickets.using(ticket);
    now += RESUME.ticketMs * 2;
    // In use: it does not expire, however long the connection lasts.
    expect(tickets.size).toBe(1);
    tickets.ended(ticket);
    now += RESUME.ticketMs - 1;
    expect(tickets.size).toBe(1);
    now += 1;
    const listening = await server(serverSide(sender.identity, { tickets }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    expect(outcome.kind).toBe('code-needed');
    expect(tickets.size).toBe(0);
  });

  it('D6: a ticket whose session completed gets code-needed', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    tickets.complete(ticket);
    const listening = await server(serverSide(sender.identity, { tickets }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    });
    expect(outcome.kind).toBe('code-needed');
  });

  it('D6: a client given a ticket refuses a sender showing another key with ERR_KEY_CHANGED before sending AUTH', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    const impostor = await machine('receiver');
    // The impostor even holds the ticket: had the proof been sent, it would have let it in.
    const listening = await server(serverSide(impostor.identity, { tickets }));
    const error = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
      expectFingerprint: sender.identity.fingerprint,
    }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(ErrorCode.KEY_CHANGED);
    // The first frame the sender side read was the receiver's ERROR, not an AUTH.
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.KEY_CHANGED);
  });

  it('D6: a client given a ticket without the key it came from never proves it', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets }));
    // Had the proof been sent, this sender would have let the receiver in.
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      ticket: ticket.secret,
    });
    expect(outcome.kind).toBe('code-needed');
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.CONNECTION_CLOSED);
  });

  it('D6: a malformed proof is refused by the schema before any ticket is tried', async () => {
    const { sender, receiver, tickets } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    secure.write(
      concatFrame(
        FrameType.AUTH,
        Buffer.from(JSON.stringify({ method: 'resume', proof: 'AB'.repeat(32) })),
      ),
    );
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.BAD_MESSAGE);
  });

  it('D6: a second AUTH resume on one connection is refused', async () => {
    const { sender, receiver, tickets, ticket } = await setup();
    const listening = await server(serverSide(sender.identity, { tickets }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    sendResume(secure, '00'.repeat(32));
    expect(await nextFrame(secure)).toEqual({
      type: FrameType.AUTH_REPLY,
      message: { result: 'code-needed' },
    });
    sendResume(secure, proofOn(secure, ticket.secret));
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.UNEXPECTED_FRAME);
  });
});

describe('TicketStore', () => {
  const exported = new Uint8Array(randomBytes(32));
  const key = (n: number) => new Uint8Array(32).fill(n);
  const proof = (ticket: Ticket) =>
    Buffer.from(resumeProof(ticket.secret, exported)).toString('hex');

  it('D6: issues 32 random bytes as 64 lowercase hex, bound to one key', () => {
    const tickets = new TicketStore();
    const ticket = tickets.issue(key(1));
    expect(ticket.secret.byteLength).toBe(RESUME.ticketBytes);
    expect(ticket.hex).toMatch(/^[0-9a-f]{64}$/);
    expect(ticket.hex).toBe(Buffer.from(ticket.secret).toString('hex'));
    expect(tickets.issue(key(1)).hex).not.toBe(ticket.hex);
    expect(tickets.verify(key(1), proof(ticket), exported)).toBe(ticket);
    expect(tickets.verify(key(2), proof(ticket), exported)).toBeUndefined();
    expect(tickets.verify(key(1), proof(ticket).toUpperCase(), exported)).toBeUndefined();
    expect(tickets.verify(key(1), '', exported)).toBeUndefined();
  });

  it('D6: tries every live ticket of the key', () => {
    const tickets = new TicketStore();
    const first = tickets.issue(key(1));
    const second = tickets.issue(key(1));
    tickets.issue(key(2));
    expect(tickets.verify(key(1), proof(first), exported)).toBe(first);
    expect(tickets.verify(key(1), proof(second), exported)).toBe(second);
  });

  it('D6: keeps at most maxTickets, dropping the oldest', () => {
    const tickets = new TicketStore();
    const issued = Array.from({ length: RESUME.maxTickets }, (_, i) => tickets.issue(key(i % 3)));
    expect(tickets.size).toBe(RESUME.maxTickets);
    const newest = tickets.issue(key(0));
    expect(tickets.size).toBe(RESUME.maxTickets);
    expect(tickets.verify(key(0), proof(issued[0]!), exported)).toBeUndefined();
    expect(tickets.verify(key(1), proof(issued[1]!), exported)).toBe(issued[1]);
    expect(tickets.verify(key(0), proof(newest), exported)).toBe(newest);
  });

  it('D6: an unused ticket expires ticketMs after it was issued; a used one ticketMs after its last end', () => {
    let now = 0;
    const tickets = new TicketStore({ now: () => now });
    const idle = tickets.issue(key(1));
    const busy = tickets.issue(key(1));
    tickets.using(busy);
    tickets.using(busy);
    now = RESUME.ticketMs;
    expect(tickets.verify(key(1), proof(idle), exported)).toBeUndefined();
    tickets.ended(busy);
    now += RESUME.ticketMs;
    // One of its two connections still runs.
    expect(tickets.verify(key(1), proof(busy), exported)).toBe(busy);
    tickets.ended(busy);
    now += RESUME.ticketMs - 1;
    expect(tickets.size).toBe(1);
    now += 1;
    expect(tickets.size).toBe(0);
  });

  it('D6: never shows a secret in inspect, JSON, strings or a store inspection', () => {
    const tickets = new TicketStore();
    const ticket = tickets.issue(key(1));
    const secretBytes = Array.from(ticket.secret).join(', ');
    const shown = [
      inspect(ticket),
      inspect(ticket, { showHidden: true, depth: 10, getters: true }),
      inspect({ nested: [ticket] }, { depth: 10 }),
      JSON.stringify(ticket),
      JSON.stringify({ ticket }),
      String(ticket),
      `${ticket}`,
      inspect(tickets, { showHidden: true, depth: 10 }),
      JSON.stringify(tickets),
      String(tickets),
      JSON.stringify(Object.entries(ticket)),
    ];
    for (const text of shown) {
      expect(text).not.toContain(ticket.hex);
      expect(text).not.toContain(ticket.hex.slice(0, 16));
      expect(text).not.toContain(Buffer.from(ticket.secret).toString('base64'));
      expect(text).not.toContain(secretBytes);
    }
    expect(JSON.parse(JSON.stringify(ticket))).toEqual({ id: ticket.id });
  });
});
