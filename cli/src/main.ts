#!/usr/bin/env node
// The `saga` binary.

import { runCli } from './cli-program.js';

process.exitCode = await runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
