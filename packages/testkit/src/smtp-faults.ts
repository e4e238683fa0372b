/**
 * SMTP servers on 127.0.0.1 that misbehave on purpose, for the reliability suite: one that
 * accepts connections and never says a word, one that answers a 4xx or 5xx at a chosen step,
 * one that resets the connection in the middle of DATA, one that takes the message and never
 * answers it, and one that insists on STARTTLS with a certificate no client should trust. Each counts what it saw, so a test can tell "never
 * reached" from "reached and refused".
 */
import net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export type SmtpFault =
  /** Accepts the TCP connection and never sends the greeting (nor anything else). */
  | { readonly kind: 'stall' }
  /** Answers `code message` to RCPT TO or at the end of DATA (e.g. 451 greylisting, 554 rejected). */
  | { readonly kind: 'reply'; readonly stage: 'rcpt' | 'data'; readonly code: number; readonly message: string }
  /** Speaks SMTP up to DATA's 354, then resets the connection (TCP RST) after `afterBytes` bytes of the message. */
  | { readonly kind: 'reset-mid-data'; readonly afterBytes?: number }
  /** Speaks SMTP up to DATA's 354, takes the message and never answers it (nor anything after). */
  | { readonly kind: 'silent-after-data' }
  /** Offers STARTTLS with smtp-server's built-in self-signed certificate (not valid for 127.0.0.1). */
  | { readonly kind: 'starttls-bad-cert' };

export interface FaultySmtp {
  readonly port: number;
  /** `smtp://127.0.0.1:PORT`. */
  readonly url: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Messages whose DATA began. */
  dataStarted(): number;
  /** Stops listening and cuts every open connection. */
  close(): Promise<void>;
}

export interface FaultySmtpOptions {
  /** Listen on this port (to take the place of a stopped server); default a free one. */
  readonly port?: number;
}

export async function startFaultySmtp(fault: SmtpFault, options: FaultySmtpOptions = {}): Promise<FaultySmtp> {
  switch (fault.kind) {
    case 'stall':
      return rawServer(options.port, () => undefined);
    case 'reset-mid-data':
      return rawServer(options.port, (socket, counters) => speakUntilData(socket, counters, fault.afterBytes ?? 1));
    case 'silent-after-data':
      return rawServer(options.port, (socket, counters) => speakUntilData(socket, counters, Infinity));
    case 'reply':
    case 'starttls-bad-cert':
      return smtpServer(fault, options.port);
  }
}

interface Counters {
  connections: number;
  dataStarted: number;
}

async function listen(server: net.Server, port: number | undefined): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

/** A plain TCP server whose every connection is handed to `session`; close() destroys them all. */
async function rawServer(port: number | undefined, session: (socket: net.Socket, counters: Counters) => void): Promise<FaultySmtp> {
  const counters: Counters = { connections: 0, dataStarted: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    counters.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    session(socket, counters);
  });
  const bound = await listen(server, port);
  return {
    port: bound,
    url: `smtp://127.0.0.1:${bound}`,
    connections: () => counters.connections,
    dataStarted: () => counters.dataStarted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Just enough SMTP for a client to reach DATA; then a reset once `afterBytes` of the message arrived (never: Infinity). */
function speakUntilData(socket: net.Socket, counters: Counters, afterBytes: number): void {
  let buffered = '';
  let inData = false;
  let dataBytes = 0;
  socket.write('220 faulty.test ESMTP\r\n');
  socket.on('data', (chunk: Buffer) => {
    if (inData) {
      dataBytes += chunk.length;
      if (dataBytes >= afterBytes) socket.resetAndDestroy();
      return;
    }
    buffered += chunk.toString('latin1');
    let newline: number;
    while (!inData && (newline = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') socket.write('250-faulty.test\r\n250 8BITMIME\r\n');
      else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') socket.write('250 OK\r\n');
      else if (verb === 'QUIT') socket.end('221 Bye\r\n');
      else if (verb === 'DATA') {
        counters.dataStarted += 1;
        inData = true;
        socket.write('354 Go ahead\r\n');
        // Bytes pipelined after DATA are already message bytes.
        dataBytes = Buffer.byteLength(buffered, 'latin1');
        buffered = '';
        if (dataBytes >= afterBytes) socket.resetAndDestroy();
      } else socket.write('502 Command not implemented\r\n');
    }
  });
}

async function smtpServer(
  fault: Extract<SmtpFault, { kind: 'reply' | 'starttls-bad-cert' }>,
  port: number | undefined,
): Promise<FaultySmtp> {
  const counters: Counters = { connections: 0, dataStarted: 0 };
  const refusal = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });
  const serverOptions: SMTPServerOptions = {
    logger: false,
    authOptional: true,
    closeTimeout: 200,
    // STARTTLS only where the fault is about TLS; smtp-server then uses its bundled self-signed certificate.
    disabledCommands: fault.kind === 'starttls-bad-cert' ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    onConnect(_session, callback) {
      counters.connections += 1;
      callback();
    },
    onRcptTo(_address, _session, callback) {
      if (fault.kind === 'reply' && fault.stage === 'rcpt') callback(refusal(fault.code, fault.message));
      else callback();
    },
    onData(stream, _session, callback) {
      counters.dataStarted += 1;
      stream.resume();
      stream.once('end', () => {
        if (fault.kind === 'reply' && fault.stage === 'data') callback(refusal(fault.code, fault.message));
        else callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined);
  const bound = await listen(server.server, port);
  return {
    port: bound,
    url: `smtp://127.0.0.1:${bound}`,
    connections: () => counters.connections,
    dataStarted: () => counters.dataStarted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
