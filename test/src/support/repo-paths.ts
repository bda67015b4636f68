// Where things are in the repository, from the compiled or source test files.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/src/support or test/dist/support → the repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PROTO_DIR = join(REPO_ROOT, 'proto');
export const COORDINATOR_MAIN = join(REPO_ROOT, 'coordinator', 'dist', 'main.js');
export const TS_PARTICIPANT_MAIN = join(REPO_ROOT, 'participants', 'ts', 'dist', 'main.js');
export const PYTHON_PARTICIPANT_DIR = join(REPO_ROOT, 'participants', 'python');
export const GO_PARTICIPANT_BIN = join(REPO_ROOT, 'participants', 'go', 'bin', 'stock-participant');
/** The benchmark's no-op participant on grpc-go (participants/go/scripts/build.sh builds it). */
export const GO_BENCH_PARTICIPANT_BIN = join(REPO_ROOT, 'participants', 'go', 'bin', 'bench-participant');
