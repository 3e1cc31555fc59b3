// Baseline target: a minimal `ws` server. Broadcast is the naive loop
// `client.send(JSON.stringify(msg))` per client. Every ratio in the bench
// report is taken against this target.
//
// Env: PORT (0 = ephemeral), HOST (127.0.0.1), HUB_PATH (/ws),
//      PING_INTERVAL_MS (25000; 0 disables) - the ping sweep from the ws README.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { createStats, envInt, httpHandler, listen, parentWatchdog } from './common.mjs';

const PATH = process.env.HUB_PATH || '/ws';
const PING_INTERVAL_MS = envInt('PING_INTERVAL_MS', 25000);

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const stats = createStats(() => wss.clients.size);

function broadcast(event, data) {
  let n = 0;
  for (const client of wss.clients) {
    if (client.readyState === WebSocket.OPEN) {
      client.send(JSON.stringify({ event, data }));
      n++;
    }
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
  // The ws README heartbeat: one sweep over every client per interval.
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
listen(server, 'raw-ws');
