// The one "client registered over UDP" fixture: a TestLwm2mServer, a UDP endpoint and an Lwm2mClient on 127.0.0.1, and their teardown.
import { createUdpEndpoint, type CoapEndpoint, type CoapEndpointOptions } from '../../runtime/coap/index.js';
import { Lwm2mClient, type Lwm2mClientOptions } from '../../runtime/client/index.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

/** Short CoAP timeouts for tests on 127.0.0.1: a lost message is noticed in 100 ms, not 2 s. */
export const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 } as const;

export interface UdpRigOptions {
  readonly endpointName: string;
  /** Adds the client's objects before it starts. */
  readonly objects: (client: Lwm2mClient) => void;
  /** More CoAP options of the server's endpoint (on top of `fast`). */
  readonly serverCoap?: CoapEndpointOptions;
  /** More CoAP options of the client's endpoint (on top of `fast`). */
  readonly clientCoap?: CoapEndpointOptions;
  /** More client options (retry, scheduler, preferredFormat, …). */
  readonly client?: Omit<Partial<Lwm2mClientOptions>, 'endpointName' | 'transport' | 'server'>;
}

export interface UdpRig {
  readonly server: TestLwm2mServer;
  readonly endpoint: CoapEndpoint;
  readonly client: Lwm2mClient;
  /** Starts the client and waits for its first successful Register. */
  register(): Promise<void>;
  /** Stops the client (de-registering), closes its endpoint and the server. */
  close(): Promise<void>;
}

/** Builds the server, the client's endpoint and the client; nothing is registered until `register()`. */
export async function createUdpRig(o: UdpRigOptions): Promise<UdpRig> {
  const server = await TestLwm2mServer.start({ coap: { ...fast, ...o.serverCoap } });
  let client: Lwm2mClient | undefined;
  const endpoint = await createUdpEndpoint({
    address: '127.0.0.1', port: 0, ...fast, ...o.clientCoap,
    // A RST to a notification cancels the observation, as connectClient wires it.
    onNotificationReset: (peer, token) => client?.notificationReset(peer, token),
  });
  client = new Lwm2mClient({
    retry: { initialDelayMs: 20, maxDelayMs: 100 }, ...o.client,
    endpointName: o.endpointName, transport: endpoint, server: server.address(),
  });
  o.objects(client);
  const c = client;
  return {
    server, endpoint, client: c,
    register: async () => {
      const registered = c.next('registered');
      await c.start();
      await registered;
    },
    close: async () => {
      await c.stop();
      await endpoint.close();
      await server.close();
    },
  };
}

/** createUdpRig, then register(). */
export async function startRegisteredClient(o: UdpRigOptions): Promise<UdpRig> {
  const rig = await createUdpRig(o);
  await rig.register();
  return rig;
}
