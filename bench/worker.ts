/**
 * One measurement in a fresh process:
 *   worker.ts --client etcdkit|etcd3 --endpoint HOST:PORT --scenario ID [--quick]
 * prints one `RESULT {json}` line; `--setup` instead writes the data the scenarios read.
 * Started by bench/run.ts (with --expose-gc); it can also be run by hand.
 */
import { parseArgs } from 'node:util';
import { CLIENTS, openClient, type ClientId } from './clients.js';
import { measure, setup } from './measure.js';
import { quick, scenarioById } from './scenarios.js';

const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    endpoint: { type: 'string' },
    scenario: { type: 'string' },
    setup: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
  strict: true,
});

const clientId = values.client as ClientId;
if (!CLIENTS.includes(clientId)) throw new Error(`--client must be one of: ${CLIENTS.join(', ')}`);
if (!values.endpoint) throw new Error('--endpoint HOST:PORT is required');
const scenario = values.setup ? undefined : scenarioById(values.scenario ?? '');
if (!values.setup && !scenario) throw new Error(`unknown --scenario ${JSON.stringify(values.scenario)}`);

const client = await openClient(clientId, values.endpoint);
try {
  if (scenario) {
    const result = await measure(client, clientId, values.quick ? quick(scenario) : scenario, values.endpoint);
    console.log(`RESULT ${JSON.stringify(result)}`);
  } else {
    await setup(client);
    console.log('RESULT {"setup":true}');
  }
} finally {
  await client.close();
}

// A client that leaves a timer or socket behind after close() would keep this process alive:
// say so (the runner relays it) and exit instead of hanging the bench.
setTimeout(() => {
  console.error(`warning: ${clientId} left handles open 3 s after close()`);
  process.exit(0);
}, 3000).unref();
