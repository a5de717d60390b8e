/**
 * Layers in front of an embedded emulator's own request handling (fault injection, conditional
 * writes, counting requests in flight): the emulator's listeners are taken off the server and
 * called by the layer, which may answer instead, hold the request, or pass it on.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Puts `layer` in front of the server's own request listeners; `pass` hands a request on. */
export function interpose(
  server: Server,
  layer: (req: IncomingMessage, res: ServerResponse, pass: RequestListener) => void,
): void {
  const handlers = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const pass: RequestListener = (req, res) => {
    for (const h of handlers) h.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => layer(req, res, pass));
}

/** The request again, for the emulator, once a layer has read its body. */
export function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  return Object.assign(Readable.from(body.length > 0 ? [body] : []), {
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    socket: req.socket,
    connection: req.socket,
  }) as unknown as IncomingMessage;
}
