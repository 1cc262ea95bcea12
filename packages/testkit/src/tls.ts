/**
 * TLS 1.3 as Ferry runs it (PROTOCOL.md §2.2), for the tests' own peers: each side shows the
 * self-signed certificate of `identity` and checks nothing of the other's, because Ferry pins
 * or pairs keys after the handshake (§2.3), and that step is what these peers skip or play with.
 */
import type tls from 'node:tls';
import type { Identity } from '@ferry/protocol/node';

/** Options of a `tls.TLSSocket` that is the server side (a sender's), asking for a certificate. */
export function tlsServerOptions(identity: Identity): tls.TLSSocketOptions {
  return {
    isServer: true,
    key: identity.key,
    cert: identity.cert,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  };
}

/** Options of `tls.connect` for the client side (a receiver's). */
export function tlsClientOptions(identity: Identity): tls.ConnectionOptions {
  return {
    key: identity.key,
    cert: identity.cert,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.3',
  };
}
