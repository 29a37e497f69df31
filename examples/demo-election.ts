/**
 * A short tour of leader election for the demo: two candidates campaign on `demo/leader`,
 * the first wins, proclaims a new value, resigns, and the second takes over, while an
 * observer follows along. Run alone with `npx tsx examples/demo-election.ts` (bundled server).
 */
import { pathToFileURL } from 'node:url';
import { Client, createSession, Election } from '../src/index.js';

/** Prints a few lines showing an election and a hand-over; leaves nothing behind in etcd. */
export async function demoElection(client: Client, print: (line: string) => void = console.log): Promise<void> {
  const name = 'demo/leader';
  const [alice, bob] = await Promise.all([createSession(client, { ttl: 5 }), createSession(client, { ttl: 5 })]);
  const observer = new Election(alice, name).observe();
  const seen: string[] = [];
  const following = (async () => {
    for await (const kv of observer) {
      seen.push(kv.valueText);
      print(`observer   leader is ${kv.keyText} = "${kv.valueText}"`);
    }
  })();
  const settled = async (count: number) => {
    for (let i = 0; i < 200 && seen.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  try {
    const first = await new Election(alice, name).campaign('alice');
    print(`campaign   alice elected with key ${first.keyText} (fencing token ${first.revision})`);
    first.on('lost', (error) => print(`alice      told at once that her term ended (${error.reason})`));
    await settled(1);

    const second = new Election(bob, name);
    const bobElected = second.campaign('bob');
    await new Promise((resolve) => setTimeout(resolve, 50));
    print(`campaign   bob is waiting; leader() says "${(await second.leader())?.valueText}"`);

    await first.proclaim('alice (v2)');
    await settled(2);
    await first.resign();
    const term = await bobElected;
    print(`campaign   bob elected after alice resigned (fencing token ${term.revision} > ${first.revision})`);
    await settled(3);
    await term.resign();
  } finally {
    observer.cancel();
    await following;
    await Promise.all([alice.close(), bob.close()]);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startServer } = await import('../src/server/index.js');
  const server = await startServer({ host: '127.0.0.1', port: 0 });
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await demoElection(client);
  } finally {
    await client.close();
    await server.close();
  }
}
