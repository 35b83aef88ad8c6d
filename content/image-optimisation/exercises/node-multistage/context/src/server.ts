import { createApp } from "./app";

const port = Number(process.env.PORT ?? 3000);
const server = createApp().listen(port, () => {
  console.log(`quotes-api listening on port ${port} (NODE_ENV=${process.env.NODE_ENV ?? "development"})`);
});

// `docker stop` sends SIGTERM to PID 1. Node does not stop on it by default when it is PID 1,
// so close the server and exit; under `sh -c` or `npm start` the signal never even arrives here.
function shutdown(signal: string) {
  console.log(`${signal} received, closing the server`);
  server.close(() => process.exit(0));
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
