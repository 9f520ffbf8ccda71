import { Client, type ClientOptions } from '../../src/client/client.js';

/** Clients a test suite opens, closed together in its `after` hook. */
export class TestClients {
  private readonly clients: Client[] = [];

  /** Connects a client and remembers it. */
  open = async (address: string, options: ClientOptions = {}): Promise<Client> => {
    const c = await Client.connect(address, options);
    this.clients.push(c);
    return c;
  };

  /** Remembers a client made elsewhere. */
  add(c: Client): Client {
    this.clients.push(c);
    return c;
  }

  /** Closes every client at once (no graceful wait). */
  async closeAll(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close({ graceful: false });
  }
}
