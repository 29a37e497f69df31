/**
 * One watcher process of `bench/transport-floor.ts`: it opens the Watch stream on the prefix
 * `bench/watch/` with a bare transport and does nothing but decode each response and look at
 * each event's key and value, so its CPU per event is the floor a client on that transport
 * can reach (no watch layer, no public types, no listeners).
 *
 *   transport-floor-worker.ts --transport http2|grpc-js --endpoint HOST:PORT [--events N] [--warmup W]
 *
 * Prints `READY` once the watch is created, then one `RESULT {json}` line after W+N events.
 */
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { frameMessage, MessageReader } from '../src/protocol/grpc-frames.js';
import type { WatchResponse } from '../src/protocol/messages.generated.js';
import { methodDef } from '../src/protocol/services.js';
import { EventMeter } from './event-meter.js';
import { WATCH_DATA } from './watch.js';

const { values } = parseArgs({
  options: {
    transport: { type: 'string' },
    endpoint: { type: 'string' },
    events: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
  },
  strict: true,
});
const endpoint = values.endpoint ?? '';
const measured = Number(values.events);
const warmup = Number(values.warmup);
if (!endpoint) throw new Error('--endpoint HOST:PORT is required');

const def = methodDef('Watch', 'Watch');
const prefix = Buffer.from(WATCH_DATA.prefix);
const rangeEnd = Buffer.from(prefix);
rangeEnd[rangeEnd.length - 1]! += 1;
const createRequest = def.requestSerialize({ create_request: { key: prefix, range_end: rangeEnd } });

const meter = new EventMeter(warmup, measured);
let ready!: () => void;
const created = new Promise<void>((resolve) => (ready = resolve));

function onMessage(bytes: Buffer): void {
  const response: WatchResponse = def.responseDeserialize(bytes);
  if (response.created) ready();
  for (const event of response.events) {
    if (event.kv === undefined || event.kv.key.length === 0 || event.kv.value.length !== WATCH_DATA.value.length) {
      throw new Error('unexpected event');
    }
    meter.count();
  }
}

if (values.transport === 'http2') {
  const session = http2.connect(`http://${endpoint}`);
  const stream = session.request({ ':method': 'POST', ':path': def.path, 'content-type': 'application/grpc', te: 'trailers' });
  const reader = new MessageReader();
  stream.on('data', (chunk: Buffer) => reader.push(chunk, onMessage));
  stream.write(frameMessage(createRequest));
} else if (values.transport === 'grpc-js') {
  const channel = new grpc.Channel(endpoint, grpc.credentials.createInsecure(), {});
  const call = channel.createCall(def.path, Infinity, undefined, null, undefined);
  call.start(new grpc.Metadata(), {
    onReceiveMetadata() {},
    onReceiveMessage(bytes: Buffer) {
      onMessage(bytes);
      call.startRead();
    },
    onReceiveStatus() {},
  });
  call.startRead();
  call.sendMessageWithContext({ callback() {} }, createRequest);
} else {
  throw new Error('--transport must be http2 or grpc-js');
}
await created;
console.log('READY');
const { seconds, cpu } = await meter.done;
const result = { transport: values.transport, events: measured, eventsPerSec: measured / seconds, cpuUsPerEvent: (cpu.user + cpu.system) / measured };
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
