// Entry point of the TypeScript example participants (participant protocol):
// PARTICIPANT_SERVICE=orders|stock|points|notification (or argv[2]),
// PARTICIPANT_HOST/PORT/DB/SEED. Prints {"listening":"host:port"} on stdout
// once ready; logs go to stderr; SIGTERM drains and exits 0.
import { pino } from 'pino';
import { loadParticipantConfig } from './participant-config.js';
import { startParticipant } from './start-participant.js';
import { runProcess } from './run-process.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ fd: 2, sync: true }));

runProcess(logger, 'participant', async () => {
  const config = loadParticipantConfig(process.env, process.argv.slice(2));
  const running = await startParticipant({ ...config, logger });
  return { running, listening: `${config.host}:${running.address.port}` };
});
