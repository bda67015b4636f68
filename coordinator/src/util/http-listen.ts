// Binds an HTTP server to host:port (port 0 = ephemeral) and answers with the bound address.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on `listen` ("host:port"); `what` names the server in errors. Resolves with the bound host:port. */
export async function listenHttp(server: Server, listen: string, what: string): Promise<string> {
  const { host, port } = splitHostPort(listen, what);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

/** Stops accepting, drops open connections (idle and streaming), and waits for the close. */
export async function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

function splitHostPort(listen: string, what: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what}: "${listen}" is not host:port`);
  return { host, port };
}
