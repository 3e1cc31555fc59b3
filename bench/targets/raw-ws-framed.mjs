// "Practical limit" target: the raw ws server, but a broadcast is serialised
// once and framed once (Sender.frame, header and payload merged into one
// Buffer), then written to every OPEN client through that client's own
// sender (ws._sender.sendFrame) so frames never interleave with send().
// permessage-deflate is off, so one unmasked frame is valid for every client.
//
// Env: same as raw-ws.mjs.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Sender, WebSocket, WebSocketServer } from 'ws';
import { createStats, envInt, httpHandler, listen, parentWatchdog } from './common.mjs';

const PATH = process.env.HUB_PATH || '/ws';
const PING_INTERVAL_MS = envInt('PING_INTERVAL_MS', 25000);
const OPEN = WebSocket.OPEN;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const stats = createStats(() => wss.clients.size);

function broadcast(event, data) {
  const json = JSON.stringify({ event, data });
  const payload = Buffer.from(json);
  const parts = Sender.frame(payload, {
    fin: true,
    opcode: 1,
    mask: false,
    rsv1: false,
    readOnly: true,
  });
  const frame = [parts.length === 1 ? parts[0] : Buffer.concat(parts)];
  let n = 0;
  for (const client of wss.clients) {
    if (client.readyState !== OPEN) continue;
    const sender = client._sender;
    // Sender state 0 = DEFAULT: nothing queued (no deflate, no Blob pending).
    if (sender._state === 0 && sender._queue.length === 0) sender.sendFrame(frame);
    else client.send(json);
    n++;
  }
  return n;
}

const server = http.createServer(httpHandler(stats, broadcast));
server.on('upgrade', (req, socket, head) => {
  if (req.url.split('?', 1)[0] !== PATH) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

function onPong() {
  this.isAlive = true;
}

function onMessage(raw, isBinary) {
  if (isBinary) return;
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return;
  }
  if (msg !== null && msg.event === 'message') {
    this.send(JSON.stringify({ event: 'ack', id: msg.id, data: msg.data }));
  }
}

wss.on('connection', (ws) => {
  ws.isAlive = true;
  ws.on('pong', onPong);
  ws.on('message', onMessage);
  ws.on('error', () => {});
  ws.send(JSON.stringify({ event: 'welcome', data: { clientId: randomUUID() } }));
});

if (PING_INTERVAL_MS > 0) {
  setInterval(() => {
    for (const ws of wss.clients) {
      if (ws.isAlive === false) {
        ws.terminate();
        continue;
      }
      ws.isAlive = false;
      ws.ping();
    }
  }, PING_INTERVAL_MS);
}

parentWatchdog();
listen(server, 'raw-ws-framed');
