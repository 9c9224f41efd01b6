// Loaded by mocha before every suite. The hub under test uses self-signed certificates on
// loopback, so clients in tests accept them.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
