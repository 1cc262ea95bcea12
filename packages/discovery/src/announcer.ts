import os from 'node:os';
import { DISCOVERY } from '@ferry/protocol';
import type { Logger } from 'pino';
import { type Announcement, instanceName, SERVICE_TYPE, txtPairs } from './txt.ts';
import type { AnnouncedAs, Announcer } from './types.ts';

/** Options of {@link createAnnouncer}. */
export interface AnnouncerOptions {
  /** Announce on the interface of this address only (`--host`); every interface by default. */
  readonly address?: string | undefined;
}

/** How often the announcer looks whether probing is over and answering has begun. */
const STATE_POLL_MS = 50;

/**
 * Announces a sender with `@homebridge/ciao`: it probes for the name and renames on a
 * conflict (RFC 6762 §8), answers on every interface that is up and follows interfaces that
 * come and go, over IPv4 and IPv6, and says goodbye when stopped. `start` resolves once the
 * name is the sender's and the first announcement is out, not after the last repetition.
 */
export function createAnnouncer(logger: Logger, options: AnnouncerOptions = {}): Announcer {
  let stop: (() => Promise<void>) | undefined;
  return {
    async start(announcement: Announcement): Promise<AnnouncedAs> {
      const { getResponder } = (await import('@homebridge/ciao')).default;
      // IPv6 too (ff02::fb), which ciao leaves off by default: a host with IPv6 only is found.
      const responder = getResponder({
        ...(options.address === undefined ? {} : { interface: options.address }),
        advertiseIpv6: true,
      });
      let name = instanceName(announcement.name);
      const service = responder.createService({
        name,
        type: SERVICE_TYPE,
        port: announcement.port,
        // The machine's own name and the port: two senders on one machine never claim the same
        // host name, which would make the second rename itself (RFC 6762 §9). Ciao adds `.local`.
        hostname: `${hostLabel()}-${announcement.port}`,
        txt: txtPairs(announcement),
      });
      service.on('name-change', (renamed: string) => {
        logger.debug({ name: renamed }, 'announced under another name, after a conflict');
        name = renamed;
      });
      stop = async () => {
        let timer: NodeJS.Timeout | undefined;
        const bounded = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, DISCOVERY.goodbyeMs);
        });
        try {
          await Promise.race([
            responder
              .shutdown()
              .catch((error: unknown) => logger.debug({ err: error }, 'goodbye failed')),
            bounded,
          ]);
        } finally {
          clearTimeout(timer);
        }
      };
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          const state = String(service.serviceState);
          if (state === 'announcing' || state === 'announced') done();
        }, STATE_POLL_MS);
        const done = (error?: unknown) => {
          clearInterval(poll);
          if (error) reject(error);
          else resolve();
        };
        service.advertise().then(() => done(), done);
      });
      return { name };
    },
    async stop(): Promise<void> {
      const current = stop;
      stop = undefined;
      await current?.();
    },
  };
}

/** The machine's name as a DNS label: its first label, cut to leave room for `-<port>`; `ferry` if it has none. */
function hostLabel(): string {
  const first = os.hostname().split('.')[0] ?? '';
  return first.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 57) || 'ferry';
}
