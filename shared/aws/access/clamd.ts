/**
 * A scanner that asks clamd (ClamAV's daemon) over its INSTREAM command: `zINSTREAM\0`, then
 * the object as chunks each prefixed by its length (4 bytes, big-endian), then a zero length.
 * clamd answers `stream: OK`, `stream: <signature> FOUND`, or an error such as its own size
 * limit (`StreamMaxLength`), which makes the object `skipped`. Any other failure (clamd down,
 * a timeout) throws, so the commit's tasks run again later and the object stays `pending`.
 */
import { connect, type Socket } from 'node:net';
import type { Scanner, ScanSession, Verdict } from '../../access/index.ts';
import type { ClamdAddress } from '../../config.ts';

/** clamd's default StreamMaxLength is 25 MB; chunks are far smaller. */
const MAX_CHUNK = 1024 * 1024;

/** A clamd answer as a verdict. @throws Error for an answer that is neither. */
export function parseClamdReply(raw: string): Verdict {
  const reply = raw.replace(/\0+$/, '').trim();
  if (/^stream: OK$/.test(reply)) return { state: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { state: 'infected', signature: found[1] as string };
  if (/size limit exceeded/i.test(reply)) return { state: 'skipped', reason: `clamd: ${reply}` };
  throw new Error(`clamd answered "${reply}"`);
}

/** clamd closed its end while we were still sending: a reset or a broken pipe. */
function closedMidStream(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

class ClamdSession implements ScanSession {
  private readonly socket: Socket;
  private reply = '';
  private failure: Error | undefined;
  private readonly replied: Promise<void>;
  /** Object bytes clamd has taken. */
  private sent = 0;
  /** Set when clamd closed the connection while the object was still being sent. */
  private closedAfter: number | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.replied = new Promise((resolve) => {
      socket.on('data', (data: Buffer) => {
        this.reply += data.toString('utf8');
        if (this.reply.includes('\0')) resolve();
      });
      socket.on('error', (err) => {
        this.failure ??= err;
        resolve();
      });
      socket.on('close', () => resolve());
    });
  }

  /** Whether clamd has answered already (it stops reading past its size limit, say). */
  private get answered(): boolean {
    return this.reply.includes('\0');
  }

  /**
   * Writes to clamd. A write that fails because clamd stopped reading (past its size limit it
   * answers and closes) is no failure once its answer has come in.
   */
  private send(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(data, (err) => {
        if (!err) return resolve();
        this.replied.then(() => (this.answered ? resolve() : reject(err)));
      }),
    );
  }

  async write(chunk: Uint8Array): Promise<boolean> {
    for (let at = 0; at < chunk.length && !this.answered; at += MAX_CHUNK) {
      const piece = chunk.subarray(at, at + MAX_CHUNK);
      try {
        await this.send(Buffer.concat([lengthPrefix(piece.length), piece]));
      } catch (err) {
        if (!closedMidStream(err)) throw err;
        this.closedAfter = this.sent;
        return true;
      }
      this.sent += piece.length;
    }
    return this.answered;
  }

  async finish(): Promise<Verdict> {
    if (this.closedAfter === undefined && !this.answered) {
      try {
        await this.send(lengthPrefix(0));
      } catch (err) {
        if (!closedMidStream(err)) throw err;
        this.closedAfter = this.sent;
      }
    }
    await this.replied;
    this.socket.destroy();
    if (this.answered) return parseClamdReply(this.reply);
    if (this.closedAfter !== undefined || closedMidStream(this.failure)) {
      // Past StreamMaxLength clamd answers and closes; when our next write reaches it first, the
      // connection is reset and the answer lost. Skipped is what the answer would have said, and
      // it is as safe as pending: an unprotected session reads neither.
      return {
        state: 'skipped',
        reason: `clamd: closed the stream after ${this.closedAfter ?? this.sent} bytes without an answer (over its StreamMaxLength?)`,
      };
    }
    if (this.failure) throw this.failure;
    return parseClamdReply(this.reply);
  }

  abort(): void {
    this.socket.destroy();
  }
}

/** Scans through the clamd at `address`; a call that takes over `timeoutMs` in silence fails. */
export function clamdScanner(address: ClamdAddress, options: { timeoutMs: number }): Scanner {
  return {
    name: 'clamd',
    async open() {
      const socket = connect(address);
      socket.setTimeout(options.timeoutMs, () =>
        socket.destroy(new Error(`clamd sent nothing for ${options.timeoutMs} ms`)),
      );
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const session = new ClamdSession(socket);
      socket.write('zINSTREAM\0');
      return session;
    },
  };
}
