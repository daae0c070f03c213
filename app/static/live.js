/* The live protocol, client side (see app/web/live.py), shared by the display, the counter
 * console, the phone page, the kiosk and the manager's page. Socket.IO's client is the vendored
 * classic script (static/vendor/socket.io.min.js): window.io.
 *
 * A full snapshot arrives on every (re)connect and whenever we ask ("resync"); deltas
 * carry the hall's sequence number. A delta that skips a number means we missed
 * something: apply it (a call must still be announced) and ask for a snapshot.
 * Snapshots older than what we already applied are ignored. A screen that hears
 * nothing for WATCHDOG_MS asks again, so a display left running for days heals itself.
 */
const WATCHDOG_MS = 75 * 1000;

export class HallLive {
  constructor(options) {
    this.seq = -1;
    this.options = options;
    this.lastMessage = Date.now();
    this.connected = false;
    const socket = this.socket = window.io({
      transports: ["websocket"],
      auth: options.token ? { token: options.token } : undefined,
      query: options.query || {},
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });

    const heard = () => { this.lastMessage = Date.now(); };
    const status = (ok, why) => {
      this.connected = ok;
      if (options.onStatus) options.onStatus(ok, why);
    };

    // the server sends the snapshot from its connect handler, which can reach us before
    // our own "connect" event: forget the sequence when the connection drops, not when it opens
    socket.on("connect", () => { heard(); status(true); });
    socket.on("disconnect", (reason) => {
      this.seq = -1;
      status(false, reason);
      // the server ended the session (e.g. its restart refused us): keep trying anyway
      if (reason === "io server disconnect") setTimeout(() => { socket.connect(); }, 1000);
    });
    socket.on("connect_error", (err) => {
      status(false, err && err.message);
      // a refused connection is not retried by the client library: a bad token stays bad,
      // but a restarting server also refuses for a moment, so retry slowly
      if (!socket.active) setTimeout(() => { socket.connect(); }, 3000);
    });
    socket.on("snapshot", (snap) => {
      heard();
      if (this.seq >= 0 && snap.seq < this.seq) return;  // older than what we hold
      this.seq = snap.seq;
      if (options.onSnapshot) options.onSnapshot(snap);
    });
    socket.on("delta", (delta) => {
      heard();
      if (this.seq >= 0 && delta.seq <= this.seq && !options.everyDelta) return;  // already in our state
      const gap = this.seq >= 0 && delta.seq > this.seq + 1 && !options.everyDelta;
      this.seq = Math.max(this.seq, delta.seq);
      if (options.onDelta) options.onDelta(delta);
      if (gap) socket.emit("resync");
    });
    for (const name of ["counter", "ticket"]) {
      socket.on(name, (data) => {
        heard();
        const handler = options["on" + name.charAt(0).toUpperCase() + name.slice(1)];
        if (handler) handler(data);
      });
    }
    setInterval(() => {
      if (this.connected && Date.now() - this.lastMessage > WATCHDOG_MS) {
        heard();
        socket.emit("resync");
      }
    }, 5000);
  }

  resync() { this.socket.emit("resync"); }
}
