// coap:// keeps its plain UDP endpoint: there is no session to lose, so nothing wraps it and nothing reconnects.
import { ReconnectingStreamEndpoint, RehandshakingEndpoint } from '../../../runtime/coap/reconnect.js';
import { openServerTransport } from '../../../runtime/client/index.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

it('openServerTransport("coap://…") returns the UDP endpoint itself, without recovery', async () => {
  const server = await TestLwm2mServer.start();
  const { address, port } = server.address();
  const opened = await openServerTransport(`coap://${address}:${port}`);
  try {
    expect(opened.recovery).toBeUndefined();
    expect(opened.endpoint).not.toBeInstanceOf(RehandshakingEndpoint);
    expect(opened.endpoint).not.toBeInstanceOf(ReconnectingStreamEndpoint);
  } finally {
    await opened.endpoint.close();
    await server.close();
  }
});
