// A scriptable SMTP server on loopback for relay fault tests: it answers each mail with the
// next scripted reply (accept, a temporary 4xx or a permanent 5xx) and keeps what it accepted.
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export type SinkReply = 'accept' | { code: number; message: string };

export interface SmtpSink {
  readonly port: number;
  /** Mails accepted, parsed. */
  readonly accepted: ParsedMail[];
  /** Replies for the next mails, in order; 'accept' once they run out. */
  script(...replies: SinkReply[]): void;
  /** Mails answered so far, accepted or not. */
  readonly attempts: number;
  stop(): Promise<void>;
}

export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const accepted: ParsedMail[] = [];
  const replies: SinkReply[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      attempts++;
      const reply = replies.shift() ?? 'accept';
      void simpleParser(stream).then((mail) => {
        if (reply === 'accept') {
          accepted.push(mail);
          done();
        } else {
          done(Object.assign(new Error(reply.message), { responseCode: reply.code }));
        }
      }, done);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as { port: number };
  return {
    port: address.port,
    accepted,
    get attempts() {
      return attempts;
    },
    script: (...next) => void replies.push(...next),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
