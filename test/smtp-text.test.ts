// The text utilities of the mail gateway: the new text of a reply (quotes, attributions and
// signatures cut) and single-line, length-capped renderings of hostile mail text.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { safeLine, snippet } from '../gateways/smtp/mail-summary.js';
import { replyText } from '../gateways/smtp/reply-text.js';

const MAIL_FIXTURES = new URL('../../fixtures/mail/', import.meta.url);

async function fixtureText(name: string): Promise<string> {
  const mail = await simpleParser(readFileSync(new URL(name, MAIL_FIXTURES)));
  return mail.text ?? '';
}

describe('replyText', () => {
  describe('real client replies (fixtures/mail)', () => {
    const expected: Record<string, string> = {
      'gmail-reply.eml': 'Sounds good — see you at 3 🙂', // attribution wrapped over two lines
      'outlook-reply.eml': 'Passt, bis später!\n\nViele Grüße\nAlice', // German header block under a rule
      'outlook-html-only.eml': "Ok, I'll call Bob.\n\nAlice", // html converted to text, <hr> + From/Sent block
      'thunderbird-reply.eml': "I'll be there. Can you bring the slides? They are on the shared drive under /talks.",
      'apple-mail-reply.eml': 'Yes! 👍', // mobile footer above the quote
      'hebrew-reply.eml': 'כן, נתראה מחר ב-15:00 👋', // Gmail's Hebrew attribution, wrapped in bidi controls
    };
    for (const [file, text] of Object.entries(expected)) {
      it(file, async () => assert.equal(replyText(await fixtureText(file)), text));
    }
  });

  it('cuts at the first quoted line, normalising CRLF', () => {
    assert.equal(replyText('Yes.\r\n\r\n> Are you coming?\r\n> Bob\r\n'), 'Yes.');
  });

  it('recognises attributions in several languages', () => {
    const attributions = [
      'On Mon, Jan 1, 2024 at 10:00 AM Bob <bob@example.com> wrote:',
      'On 1 Jan 2024, at 10:00, Bob <bob@example.com> wrote:',
      'Am 01.01.2024 um 10:00 schrieb Bob Example <bob@example.com>:',
      'Le lun. 1 janv. 2024 à 10:00, Bob <bob@example.com> a écrit :',
      'El lun, 1 ene 2024 a las 10:00, Bob (<bob@example.com>) escribió:',
    ];
    for (const line of attributions) {
      // Without a quote below (html converted without '>'), the attribution alone marks the cut.
      assert.equal(replyText(`Answer\n\n${line}\nBob: old text\n`), 'Answer', line);
    }
  });

  it('recognises an attribution wrapped over two lines', () => {
    assert.equal(replyText('Fine\n\nOn Mon, Jan 1, 2024 at 10:00 AM Bob Example <\nbob@example.com> wrote:\n\nold'), 'Fine');
    assert.equal(replyText('Gut\n\nAm Mo., 1. Jan. 2024 um 10:00 Uhr schrieb Bob Example\n<bob@example.com>:\n\nalt'), 'Gut');
  });

  it('does not take prose for an attribution', () => {
    const prose = 'On Monday I will bring the cake.\nNobody wrote: anything about it.';
    assert.equal(replyText(prose), prose);
  });

  it('cuts at Outlook "Original Message" separators and header blocks', () => {
    assert.equal(replyText('ok\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\nold'), 'ok');
    assert.equal(replyText("D'accord\n\nDe : Bob <bob@example.com>\nEnvoyé : lundi 1 janvier 2024 10:00\nÀ : Alice\nObjet : plan\n\nvieux"), "D'accord");
    assert.equal(replyText('Sí\n\n*De:* Bob\n*Enviado:* lunes\n*Para:* Alice\n\nviejo'), 'Sí');
  });

  it('keeps a "From:" line that is not a header block', () => {
    assert.equal(replyText('From: the team, thanks!\nSee you'), 'From: the team, thanks!\nSee you');
  });

  it('drops the signature after "-- " or "--"', () => {
    assert.equal(replyText('Thanks!\n\n-- \nAlice Example\nACME Corp\n'), 'Thanks!');
    assert.equal(replyText('Thanks!\n--\nAlice'), 'Thanks!');
    assert.equal(replyText('a -- b\n---\nc'), 'a -- b\n---\nc'); // not separators
  });

  it('drops mobile footers', () => {
    for (const footer of ['Sent from my iPhone', 'Sent from my Galaxy', 'Get Outlook for Android<https://aka.ms/AAb9ysg>',
      'Von meinem iPhone gesendet', 'Envoyé de mon iPad', 'Enviado desde mi iPhone']) {
      assert.equal(replyText(`On my way\n\n${footer}\n`), 'On my way', footer);
    }
    assert.equal(replyText('Sent from my iPhone\nbut also from the office'), 'Sent from my iPhone\nbut also from the office');
  });

  it('takes the text below the quote when the reply is bottom-posted', () => {
    const mail = 'On 1/1/24 10:00, Switchboard wrote:\n> Bob: lunch?\n> Reply to answer.\n\nSure, at noon.\n\n-- \nAlice\n';
    assert.equal(replyText(mail), 'Sure, at noon.');
  });

  it('drops an attribution in another language just above the quote', () => {
    assert.equal(replyText('Ja!\n\nDen 1 jan. 2024 kl. 10:00 skrev Bob <bob@example.com>:\n\n> Kommer du?'), 'Ja!');
    assert.equal(replyText('My answers:\n> q1'), 'My answers:'); // no date or address: kept
  });

  it('keeps a bare forward with its header block, but cuts a forward below a note', () => {
    const forward = '---------- Forwarded message ---------\nFrom: Carol <carol@example.com>\nDate: Mon, Jan 1, 2024\nSubject: hi\n\nForwarded body';
    assert.equal(replyText(forward), forward);
    assert.equal(replyText(`FYI, see below\n\n${forward}`), 'FYI, see below');
    const apple = 'Begin forwarded message:\n\nFrom: Carol <carol@example.com>\nSubject: hi\nDate: 1 January 2024\n\nThe body\n\n> old quote';
    assert.equal(replyText(apple), 'Begin forwarded message:\n\nFrom: Carol <carol@example.com>\nSubject: hi\nDate: 1 January 2024\n\nThe body');
  });

  it('trims trailing whitespace and collapses runs of blank lines', () => {
    assert.equal(replyText('\n\nYes   \n\n\n\n\nNo\t\n\n\n'), 'Yes\n\nNo');
    assert.equal(replyText('  indented\nkept'), '  indented\nkept');
  });

  it('returns "" when nothing new is left', () => {
    assert.equal(replyText(''), '');
    assert.equal(replyText('> only a quote\n> more'), '');
    assert.equal(replyText('\n-- \nsignature only'), '');
    assert.equal(replyText('Sent from my iPhone\n\nOn Mon, Bob <b@x.example> wrote:\n> hi'), '');
  });

  it('stays linear on hostile input', () => {
    const started = Date.now();
    replyText('> q\n\nx\n'.repeat(30_000));
    replyText('On a\n'.repeat(30_000) + 'x'.repeat(100_000));
    assert.ok(Date.now() - started < 2000);
  });
});

describe('safeLine', () => {
  it('joins lines and collapses whitespace', () => {
    assert.equal(safeLine('  Hello\r\n\tworld \u2028 again\u00a0 ', 100), 'Hello world again');
  });

  it('removes header injection attempts down to text', () => {
    const line = safeLine('Hi\r\nBcc: victim@example.com\r\n\r\nbody', 100);
    assert.equal(line, 'Hi Bcc: victim@example.com body');
    assert.doesNotMatch(line, /[\r\n]/);
  });

  it('removes C0 and C1 controls', () => {
    assert.equal(safeLine('a\u0000b\u0007c\u001bd\u007fe\u0085f\u009bg', 100), 'a b c d e f g');
  });

  it('removes bidi overrides and isolates (extension spoofing)', () => {
    // "invoice_\u202Efdp.exe" displays as "invoice_exe.pdf"
    assert.equal(safeLine('invoice_\u202Efdp.exe', 100), 'invoice_fdp.exe');
    assert.equal(safeLine('\u2067admin\u2069 \u202Aa\u202B\u202C\u202D\u2066\u2068', 100), 'admin a');
  });

  it('keeps RTL text and emoji sequences intact', () => {
    assert.equal(safeLine('שלום עולם — مرحبا بالعالم', 100), 'שלום עולם — مرحبا بالعالم');
    assert.equal(safeLine('family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👋🏽', 100), 'family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👋🏽');
  });

  it('truncates on a grapheme boundary, with an ellipsis, to at most max code units', () => {
    assert.equal(safeLine('abcdefghij', 10), 'abcdefghij');
    assert.equal(safeLine('abcdefghijk', 10), 'abcdefghi…');
    const family = '👨‍👩‍👧‍👦'; // 11 code units, one grapheme
    const cut = safeLine(`ab${family}${family}`, 20);
    assert.equal(cut, `ab${family}…`);
    assert.equal(safeLine(`${family}${family}`, 8), '…'); // no whole grapheme fits
    assert.equal(safeLine('e\u0301e\u0301e\u0301', 4), 'e\u0301…'); // combining accent kept with its letter
    assert.equal(safeLine('word      next', 6), 'word…'); // no space before the ellipsis
    assert.equal(safeLine('abc', 0), '');
  });

  it('bounds zalgo text by code units', () => {
    const zalgo = 'Z' + '\u0336'.repeat(10_000) + 'A';
    assert.ok(safeLine(zalgo, 50).length <= 50);
  });
});

describe('snippet', () => {
  it('is the new text of the mail on one line', () => {
    assert.equal(snippet('Hi Alice,\n\nthe build is green.\n\nOn Mon, Bob <b@x.example> wrote:\n> is it?\n-- \nBob'),
      'Hi Alice, the build is green.');
  });

  it('defaults to 160 code units', () => {
    const text = 'word '.repeat(100);
    const result = snippet(text);
    assert.ok(result.length <= 160 && result.endsWith('…'));
    assert.equal(snippet(text, 11), 'word word…');
  });

  it('is "" for a mail that is only a quote', () => {
    assert.equal(snippet('> nothing new'), '');
  });

  it('neutralises hostile bodies', async () => {
    assert.equal(snippet('\u202Eevil\u202C\u0000line\r\nnext'), 'evil line next');
    assert.equal(snippet(await fixtureText('hebrew-reply.eml')), 'כן, נתראה מחר ב-15:00 👋');
  });
});
