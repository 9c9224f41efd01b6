#!/usr/bin/env node
// The switchboard command; the code is compiled to dist/ by `npm run build`.
import '../dist/src/cli/main.js';
