// Typings for saslprep (RFC 4013). Throws on prohibited, unassigned (unless allowed) or bidi-invalid input.
declare module 'saslprep' {
  function saslprep(input: string, opts?: { allowUnassigned?: boolean }): string;
  export = saslprep;
}
