#!/usr/bin/env node
import { main } from '../dist/main.js';

// A reader that stops early (`clip-agiqa score --json . | head -1`) closes the pipe: stop quietly.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
