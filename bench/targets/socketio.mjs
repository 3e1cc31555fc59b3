// Socket.IO 4.8 target, websocket transport only, permessage-deflate off.
// Echo uses Socket.IO's native acknowledgement: the client emits
// `message` with an ack id (packet `42<id>["message",data]`) and the server
// calls the ack (`43<id>[data]`): Socket.IO's own request/response path, the
// same work as the ws targets' {"event":"ack","id":N,"data":X}.
// Broadcast is io.emit(event, data) (Socket.IO encodes and frames it once).
// No extra welcome event: the Socket.IO CONNECT reply already carries the id.
//
// Env: PORT, HOST, PING_INTERVAL_MS (engine.io pingInterval, default 25000),
//      PING_TIMEOUT_MS (default 20000). Path: /socket.io/
import http from 'node:http';
import { Server } from 'socket.io';
import { createStats, envInt, httpHandler, listen, parentWatchdog } from './common.mjs';

let handle = null;
// The request listener must exist before socket.io attaches: engine.io wraps
// the existing listeners and forwards every non-/socket.io/ request to them.
const server = http.createServer((req, res) => handle(req, res));
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  pingInterval: envInt('PING_INTERVAL_MS', 25000) || 25000,
  pingTimeout: envInt('PING_TIMEOUT_MS', 20000),
});
const stats = createStats(() => io.engine.clientsCount);

function broadcast(event, data) {
  const n = io.of('/').sockets.size;
  io.emit(event, data);
  return n;
}

handle = httpHandler(stats, broadcast);

io.on('connection', (socket) => {
  socket.on('message', (data, ack) => {
    if (typeof ack === 'function') ack(data);
  });
});

parentWatchdog();
listen(server, 'socketio');
