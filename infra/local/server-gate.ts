/**
 * The door of every HTTP server the local cloud exposes (the API and the emulators): it refuses
 * what loopback-guard.ts refuses, and it knows the connections and the requests in flight, so
 * that a stop can let requests finish for a moment, then end the rest, and say what it ended.
 * It goes in front of the server's own request handling (interpose.ts), outermost.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { interpose } from './interpose.ts';
import { loopbackRefusal } from './loopback-guard.ts';
import { sendS3Error } from './s3-http.ts';

/** Why the gate answers instead of the server: a foreign Host or Origin, or a stop under way. */
export type Refusal = 'foreign' | 'stopping';

export interface GateOptions {
  /** Answers a request the gate turns away, in the shape the server's clients read. */
  refuse(req: IncomingMessage, res: ServerResponse, why: Refusal, message: string): void;
}

/** What a stop ended on one server. */
export interface GateCut {
  /** Requests still unanswered when they were cut. */
  requests: number;
  /** Open connections with no request in flight (keep-alive), closed. */
  idleConnections: number;
}

export interface ServerGate {
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  /**
   * Stops taking work: the server stops listening, idle keep-alive connections close, a request
   * that still arrives on an open connection is answered 503, and a connection whose request
   * finishes closes after its answer.
   */
  drain(): void;
  /** Settles once no request is in flight, or after `ms` (if given), whichever comes first. */
  settle(ms?: number): Promise<void>;
  /**
   * Ends what is left: every connection is ended, and with `answer` an unanswered request
   * whose answer has not begun gets a 503 first. Only a server whose handlers cope with a
   * request answered behind their back may answer (the API does; the emulators, which go on
   * working on a request after its client has gone, would write a second answer).
   */
  cut(answer: boolean): void;
  /** What `drain` and `cut` ended. */
  readonly ended: GateCut;
}

export function gateServer(server: Server, opts: GateOptions): ServerGate {
  /** Every open connection, with how many of its requests are unanswered. */
  const sockets = new Map<Socket, number>();
  const inFlight = new Set<ServerResponse>();
  const ended: GateCut = { requests: 0, idleConnections: 0 };
  const settled: Array<() => void> = [];
  let draining = false;

  const track = (socket: Socket) => {
    if (sockets.has(socket)) return;
    sockets.set(socket, 0);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);

  const closeIdle = () => {
    for (const [socket, busy] of sockets) {
      if (busy > 0) continue;
      // Counted once: a destroyed socket stays open until its 'close' event, a turn later.
      sockets.delete(socket);
      if (socket.destroyed) continue;
      ended.idleConnections++;
      socket.destroy();
    }
  };

  interpose(server, (req, res, pass) => {
    const foreign = loopbackRefusal(req.headers);
    if (foreign !== undefined || draining) {
      req.resume();
      return foreign !== undefined
        ? opts.refuse(req, res, 'foreign', foreign)
        : opts.refuse(req, res, 'stopping', 'the local cloud is stopping');
    }
    const socket = req.socket;
    track(socket);
    sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
    inFlight.add(res);
    // 'close' comes once the answer is sent, or when the connection is lost before that.
    res.once('close', () => {
      inFlight.delete(res);
      const busy = (sockets.get(socket) ?? 1) - 1;
      if (sockets.has(socket)) sockets.set(socket, busy);
      if (draining && busy === 0) socket.end();
      if (inFlight.size === 0) for (const wake of settled.splice(0)) wake();
    });
    pass(req, res);
  });

  return {
    get inFlight() {
      return inFlight.size;
    },
    get ended() {
      return { ...ended };
    },
    drain() {
      if (draining) return;
      draining = true;
      // Before the server's close, which closes idle connections too, uncounted.
      closeIdle();
      // The callback's error (not listening) does not matter: the server is closed either way.
      server.close(() => {});
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    settle(ms) {
      if (inFlight.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
        settled.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    cut(answer) {
      draining = true;
      for (const res of [...inFlight]) {
        ended.requests++;
        inFlight.delete(res);
        if (!answer || res.headersSent || res.req.socket?.destroyed) {
          res.req.socket?.destroy();
          continue;
        }
        try {
          opts.refuse(res.req, res, 'stopping', 'the local cloud stopped before answering');
        } catch {
          res.req.socket?.destroy();
        }
      }
      for (const wake of settled.splice(0)) wake();
      closeIdle();
      // Ended, not destroyed: a 503 just written still reaches its client. What a client keeps
      // open after this goes with the server's own stop (closeAllConnections).
      for (const socket of sockets.keys()) socket.end();
    },
  };
}

// The gate's own answers. A refusal's message quotes the client's Host or Origin: escaped.

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** A refusal on the API port: the project's own error body. */
export function sendApiError(res: ServerResponse, status: number, code: string, message: string) {
  send(res, status, 'application/json', JSON.stringify({ error: { code, message } }));
}

/**
 * A refusal on an emulator's port, in the shape its clients parse: the JSON protocols (SQS,
 * DynamoDB, Step Functions) name the operation in `x-amz-target`; S3 and SNS read XML.
 */
export function sendAwsError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  if (req.headers['x-amz-target'] !== undefined) {
    res.setHeader('x-amzn-errortype', code);
    send(res, status, 'application/x-amz-json-1.0', JSON.stringify({ __type: code, message }));
    return;
  }
  sendS3Error(res, status, code, message, { connection: 'close' });
}
