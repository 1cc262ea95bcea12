import dgram from 'node:dgram';
import { once } from 'node:events';
import { DISCOVERY } from '@ferry/protocol';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBrowser } from '../src/browser.ts';
import { SERVICE_NAME } from '../src/txt.ts';

const logger = pino({ level: 'silent' });
const sockets: dgram.Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function bound(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, address);
  await once(socket, 'listening');
  return socket;
}

type Answer = dnsPacket.Answer;

function records(
  name: string,
  host: string,
  port: number,
  address: string,
  txt = ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef'],
) {
  const fqdn = `${name}.${SERVICE_NAME}`;
  return {
    ptr: { type: 'PTR', name: SERVICE_NAME, ttl: 120, data: fqdn } as Answer,
    srv: { type: 'SRV', name: fqdn, ttl: 120, data: { target: `${host}.local`, port } } as Answer,
    txt: {
      type: 'TXT',
      name: fqdn,
      ttl: 120,
      data: txt.map((entry) => Buffer.from(entry)),
    } as Answer,
    a: { type: 'A', name: `${host}.local`, ttl: 120, data: address } as Answer,
  };
}

/** A responder on loopback that answers each query with `answer(question)`. */
async function responder(address: string, answer: (question: dnsPacket.Question) => Answer[][]) {
  const socket = await bound(address);
  const questions: string[] = [];
  socket.on('message', (message, rinfo) => {
    const packet = dnsPacket.decode(message);
    if (packet.type !== 'query') return;
    for (const question of packet.questions ?? []) {
      questions.push(`${question.type} ${question.name}`);
      for (const answers of answer(question)) {
        socket.send(
          dnsPacket.encode({ type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, answers }),
          rinfo.port,
          rinfo.address,
        );
      }
    }
  });
  return { socket, questions, port: socket.address().port };
}

describe('createBrowser, with real mDNS packets on loopback', () => {
  it('finds a sender from one response, and reports it before the search ends', async () => {
    const r = records('alice', 'laptop', 7878, '127.0.0.1');
    const server = await responder('127.0.0.1', (q) =>
      q.type === 'PTR' ? [[r.ptr, r.srv, r.txt, r.a]] : [],
    );
    const socket = await bound('127.0.0.1');
    const browser = createBrowser(logger, {
      unicast: { socket, to: { address: '127.0.0.1', port: server.port } },
    });
    const controller = new AbortController();
    const seen: string[] = [];
    // Stopped as soon as the sender is reported: it came before the 20 s search would end.
    const result = await browser.browse({
      ms: 20_000,
      signal: controller.signal,
      onFound(sender) {
        seen.push(sender.name);
        controller.abort();
      },
    });
    expect(seen).toEqual(['alice']);
    expect(result).toMatchObject([
      {
        name: 'alice',
        host: 'laptop',
        addresses: ['127.0.0.1'],
        port: 7878,
        keyHint: '0123456789abcdef',
        source: '127.0.0.1',
      },
    ]);
    expect(server.questions[0]).toBe(`PTR ${SERVICE_NAME}`);
  });

  it('asks for the SRV, TXT and address records a response left out', async () => {
    const r = records('alice', 'laptop', 7878, '127.0.0.1');
    const server = await responder('127.0.0.1', (q) => {
      if (q.type === 'PTR') return [[r.ptr]];
      if (q.type === 'SRV') return [[r.srv]];
      if (q.type === 'TXT') return [[r.txt]];
      if (q.type === 'A') return [[r.a]];
      return [];
    });
    const socket = await bound('127.0.0.1');
    const controller = new AbortController();
    const result = await createBrowser(logger, {
      unicast: { socket, to: { address: '127.0.0.1', port: server.port } },
    }).browse({
      ms: 20_000,
      signal: controller.signal,
      onFound: () => controller.abort(),
    });
    expect(result.map((sender) => sender.name)).toEqual(['alice']);
    expect(server.questions).toEqual(
      expect.arrayContaining([
        `SRV alice.${SERVICE_NAME}`,
        `TXT alice.${SERVICE_NAME}`,
        'A laptop.local',
      ]),
    );
  });

  it('M2: a flood of 10,000 announcements from one address keeps maxPerSource of them, and a real sender on another address is listed', async () => {
    const socket = await bound('127.0.0.1');
    const real = records('alice', 'laptop', 7878, '127.0.0.3');
    const host = await bound('127.0.0.3');
    // The flooding host answers the query with 10,000 instances, 50 to a packet; then the real
    // sender announces itself to the same socket, as a second host on the network would.
    const flood = await responder('127.0.0.2', (q) => {
      if (q.type !== 'PTR') return [];
      const packets: Answer[][] = [];
      for (let i = 0; i < 10_000; i += 50) {
        packets.push(
          Array.from({ length: 50 }, (_, j) => {
            const r = records(`fake-${i + j}`, `fake-${i + j}`, 7878, '127.0.0.2');
            return [r.ptr, r.srv, r.txt, r.a];
          }).flat(),
        );
      }
      return packets;
    });
    flood.socket.on('message', (_, rinfo) => {
      const answers = [real.ptr, real.srv, real.txt, real.a];
      host.send(
        dnsPacket.encode({ type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, answers }),
        rinfo.port,
        rinfo.address,
      );
    });
    const controller = new AbortController();
    const result = await createBrowser(logger, {
      unicast: { socket, to: { address: '127.0.0.2', port: flood.port } },
    }).browse({
      ms: 20_000,
      signal: controller.signal,
      onFound: (sender) => {
        if (sender.name === 'alice') controller.abort();
      },
    });
    expect(result.map((sender) => sender.name)).toContain('alice');
    expect(result.filter((sender) => sender.source === '127.0.0.2').length).toBeLessThanOrEqual(
      DISCOVERY.maxPerSource,
    );
    expect(result.length).toBeLessThanOrEqual(DISCOVERY.maxPerSource + 1);
  });
});
