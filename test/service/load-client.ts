// The benchmarks' load generator: kept-alive HTTP/1.1 connections over plain sockets, one request at a time on
// each, answers read by their Content-Length (the service sends one on every response these benches ask for).
// It shares the machine's two cores with the service and PostgreSQL; node:http's client cost 200-270 µs of CPU
// per one-event request there, CPU the service under test could not have.
import net from 'node:net';

export interface Answer {
  status: number;
  body: string;
}

const headerEnd = Buffer.from('\r\n\r\n');

class Connection {
  private readonly socket: net.Socket;
  private readonly ready: Promise<void>;
  private chunks: Buffer[] = [];
  private waiting?: { resolve(answer: Answer): void; reject(error: Error): void };
  /** Closed by the server while idle (its keep-alive or headers timeout on a slow setup): a request sent now would never be answered. */
  closed = false;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('connection closed by the server'));
    });
  }

  async send(head: string, body?: Buffer): Promise<Answer> {
    await this.ready;
    if (this.waiting) throw new Error('one request at a time per connection');
    const answer = new Promise<Answer>((resolve, reject) => (this.waiting = { resolve, reject }));
    this.socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
    return answer;
  }

  close(): void {
    this.waiting = undefined;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [data];
    const end = data.indexOf(headerEnd);
    if (end < 0) return;
    const head = data.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`answer without Content-Length: ${head.split('\r\n')[0]}`));
    const total = end + 4 + Number(length[1]);
    if (data.length < total) return;
    if (data.length > total) return this.fail(new Error('more bytes than the answer announced'));
    this.chunks = [];
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ status: Number(head.slice(9, 12)), body: data.toString('utf8', end + 4, total) });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}

/** `concurrency` connections to `url`'s host; each caller takes one, sends, and gives it back. */
export class LoadClient {
  private readonly idle: Connection[];
  private readonly host: string;

  constructor(
    url: string,
    concurrency: number,
    private readonly headers: Record<string, string> = {},
  ) {
    const target = new URL(url);
    this.host = target.host;
    this.idle = Array.from({ length: concurrency }, () => new Connection(target.hostname, Number(target.port)));
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown): Promise<Answer> {
    return this.request('POST', path, Buffer.from(JSON.stringify(body)));
  }

  close(): void {
    for (const connection of this.idle) connection.close();
  }

  private async request(method: string, path: string, body?: Buffer): Promise<Answer> {
    let connection = this.idle.pop();
    if (!connection) throw new Error('more requests in flight than connections');
    if (connection.closed)
      connection = new Connection(new URL(`http://${this.host}`).hostname, Number(new URL(`http://${this.host}`).port));
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}\r\n`;
    for (const [name, value] of Object.entries(this.headers)) head += `${name}: ${value}\r\n`;
    head += body ? `content-length: ${body.length}\r\n\r\n` : '\r\n';
    try {
      return await connection.send(head, body);
    } finally {
      this.idle.push(connection);
    }
  }
}
