/**
 * The two clients under test behind one small interface. Each is imported lazily so a worker
 * process loads only the client it measures.
 */

export type ClientId = 'etcdkit' | 'etcd3';
export const CLIENTS: readonly ClientId[] = ['etcdkit', 'etcd3'];

/** What the scenarios need from a client; each call resolves once the response is fully decoded. */
export interface BenchClient {
  /** Reads one key and returns its value as text ('' when absent). */
  get(key: string): Promise<string>;
  put(key: string, value: string): Promise<void>;
  /**
   * Reads every key under `prefix` and touches the key and value bytes of each pair (the same
   * work for both clients); returns the number of pairs.
   */
  range(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export async function openClient(id: ClientId, endpoint: string): Promise<BenchClient> {
  return id === 'etcdkit' ? openEtcdkit(endpoint) : openEtcd3(endpoint);
}

async function openEtcdkit(endpoint: string): Promise<BenchClient> {
  const { Client } = await import('../src/index.js');
  const client = new Client({ endpoints: [endpoint] });
  return {
    async get(key) {
      const res = await client.kv.get(key);
      return res.kvs[0]?.valueText ?? '';
    },
    async put(key, value) {
      await client.kv.put(key, value);
    },
    async range(prefix) {
      const res = await client.kv.get(prefix, { prefix: true });
      let bytes = 0;
      for (const kv of res.kvs) bytes += kv.key.length + kv.value.length;
      if (bytes === 0 && res.kvs.length > 0) throw new Error('empty pairs');
      return res.kvs.length;
    },
    close: () => client.close(),
  };
}

async function openEtcd3(endpoint: string): Promise<BenchClient> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: endpoint });
  return {
    async get(key) {
      return (await client.get(key).string()) ?? '';
    },
    async put(key, value) {
      await client.put(key).value(value).exec();
    },
    async range(prefix) {
      // exec() decodes every pair into {key, value: Buffer, ...}: the same work as ours.
      const res = await client.getAll().prefix(prefix).exec();
      let bytes = 0;
      for (const kv of res.kvs) bytes += kv.key.length + kv.value.length;
      if (bytes === 0 && res.kvs.length > 0) throw new Error('empty pairs');
      return res.kvs.length;
    },
    async close() {
      client.close();
    },
  };
}
